/**
 * Test helpers for the container tests: a software dir inside a grid's work
 * root (the agent may read its work root), whose images link to the cached
 * debootstrap image, and process lookups for the orphan tests.
 *
 * @module
 */
import { ensureImage } from "../scripts/build_image.ts";
import { PODMAN_SANDBOX_LABEL } from "../src/container/podman.ts";
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

/**
 * Removes podman containers whose sandbox label lies below `dir` (what a
 * SIGKILLed agent's runtime may leave behind); returns how many.
 */
export async function removeContainersUnder(dir: string): Promise<number> {
  const podman = which("podman");
  if (!podman) return 0;
  const list = async () => {
    const out = await new Deno.Command(podman, {
      args: [
        "ps",
        "-a",
        "--filter",
        `label=${PODMAN_SANDBOX_LABEL}`,
        "--format",
        `{{.ID}} {{index .Labels "${PODMAN_SANDBOX_LABEL}"}}`,
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).split("\n")
      .map((l) => l.split(" "))
      .filter(([id, sandbox]) => id && sandbox?.startsWith(`${dir}/`))
      .map(([id]) => id);
  };
  const full = async (ids: string[]) => {
    const out = await new Deno.Command(podman, {
      args: ["inspect", "--format", "{{.ID}}", ...ids],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l);
  };
  const gone: string[] = [];
  let removed = 0;
  // A container whose conmon was killed needs a second go: the first
  // `rm -f` only notices it is gone and marks it exited.
  for (let i = 0; i < 3; i++) {
    const ids = await list();
    if (ids.length === 0) break;
    removed = Math.max(removed, ids.length);
    gone.push(...await full(ids));
    await new Deno.Command(podman, {
      args: ["rm", "-f", "--time", "0", ...ids],
      stdout: "null",
      stderr: "null",
    }).output();
  }
  // conmon, had it lived, would have removed the container's cgroups:
  // remove those podman made for these containers, if empty (rmdir).
  const cgroups = [...new Set(gone)].flatMap((id) =>
    CGROUP_CONTROLLERS.map((c) =>
      `/sys/fs/cgroup/${c}/libpod_parent/libpod-${id}`
    )
  );
  if (cgroups.length > 0) {
    await new Deno.Command("/bin/rmdir", {
      args: ["--ignore-fail-on-non-empty", ...cgroups],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => {});
  }
  return removed;
}

/** cgroup v1 hierarchies podman makes a `libpod-<id>` dir in. */
const CGROUP_CONTROLLERS = [
  "blkio",
  "cpu",
  "cpuacct",
  "cpuset",
  "devices",
  "freezer",
  "memory",
  "pids",
  "systemd",
  "unified",
];

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
