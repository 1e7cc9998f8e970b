/**
 * Test helpers for the container tests: a software dir inside a grid's work
 * root (the agent may read its work root), whose images link to the cached
 * debootstrap image, and process lookups for the orphan tests.
 *
 * @module
 */
import { ensureImage } from "../scripts/build_image.ts";
import { IN_CI, which } from "./_grid.ts";

/** The cached image (built once, ~30 s, needs root and the Debian mirror). */
export async function cachedImage(): Promise<
  { softwareDir: string; dir: string }
> {
  return await ensureImage({ log: () => {} });
}

/** `ignore` for tests that need the debootstrap image. */
export function needsImage(): boolean {
  return !IN_CI && which("debootstrap") === undefined;
}

/** Options of {@link makeSoftwareDir}. */
export interface SoftwareDirSpec {
  /** `etc/setup.sh` text. @default none */
  setup?: string;
  /** Link `containers/default` to the cached image. @default true */
  defaultImage?: boolean;
  /** More image names linked to the cached image. @default [] */
  aliases?: string[];
}

/** Creates `<workRoot>/software` (the agent's default software dir). */
export async function makeSoftwareDir(
  workRoot: string,
  spec: SoftwareDirSpec = {},
): Promise<string> {
  const root = `${workRoot}/software`;
  await Deno.mkdir(`${root}/containers`, { recursive: true });
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  const names = [
    ...(spec.defaultImage ?? true ? ["default"] : []),
    ...(spec.aliases ?? []),
  ];
  if (names.length > 0) {
    const cache = await cachedImage();
    for (const n of names) {
      await Deno.symlink(
        `${cache.softwareDir}/containers/default`,
        `${root}/containers/${n}`,
      );
    }
  }
  if (spec.setup !== undefined) {
    await Deno.writeTextFile(`${root}/etc/setup.sh`, spec.setup);
  }
  return root;
}

/** Host pids whose command line contains `marker` (pgrep -f). */
export async function pidsMatching(marker: string): Promise<number[]> {
  const out = await new Deno.Command("/usr/bin/pgrep", {
    args: ["-f", marker],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l)
    .map(Number);
}

/** `pid → { ppid, args }` for every host process (ps). */
export async function processTable(): Promise<
  Map<number, { ppid: number; args: string }>
> {
  const out = await new Deno.Command("/usr/bin/ps", {
    args: ["-eo", "pid=,ppid=,args="],
    stdout: "piped",
  }).output();
  const table = new Map<number, { ppid: number; args: string }>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) table.set(Number(m[1]), { ppid: Number(m[2]), args: m[3] });
  }
  return table;
}

/** The nearest ancestor of `pid` whose args match `re`. */
export async function ancestorMatching(
  pid: number,
  re: RegExp,
): Promise<number | undefined> {
  const table = await processTable();
  for (let p = table.get(pid)?.ppid; p && p > 1; p = table.get(p)?.ppid) {
    if (re.test(table.get(p)?.args ?? "")) return p;
  }
  return undefined;
}

/** Polls `check` every 100 ms until it returns true or `ms` pass. */
export async function waitFor(
  check: () => Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return await check();
}
