/**
 * Binary facts of the build: the size of each artefact, the one-time
 * unpack at a site, and the start-up time of the built wrapper (its
 * fixed-permission launcher running the bundle) against `deno run` of the
 * wrapper's source with the same permission flags.
 *
 * Start-up is measured to process exit of `--self-test` (hello and end
 * frames written): the wrapper's whole fixed cost before a job.
 *
 * @module
 */
import type { BenchRow } from "./bench_row.ts";
import { formatTable } from "./format_table.ts";
import {
  artefactName,
  buildArtefacts,
  type BuildResult,
  LOCKDOWN_FLAGS,
} from "../src/build/mod.ts";
import { toDenoFlags, wrapperPermissions } from "../src/permissions/table.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Options of {@link benchBuild}. */
export interface BenchBuildOptions {
  /** Fewer start-ups (5 instead of 20). @default false */
  quick?: boolean;
  /** Measure this build instead of building into a temp dir. */
  result?: BuildResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeRun(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const ms = performance.now() - t0;
  if (!r.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${r.code}): ${
        new TextDecoder().decode(r.stderr).trim().split("\n").slice(-2).join(
          " | ",
        )
      }`,
    );
  }
  return ms;
}

async function startups(
  n: number,
  cmd: string,
  args: string[],
): Promise<number[]> {
  await timeRun(cmd, args); // warm the page cache and Deno's code cache
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await timeRun(cmd, args));
  return out;
}

const MIB = 2 ** 20;

/** Measures the build's binary facts. */
export async function benchBuild(
  opts: BenchBuildOptions = {},
): Promise<BenchRow[]> {
  const n = opts.quick ? 5 : 20;
  const tmp = await Deno.makeTempDir({ prefix: "splitpilot-bench-build-" });
  try {
    const rows: BenchRow[] = [];
    let result = opts.result;
    if (!result) {
      result = await buildArtefacts({
        broker: "127.0.0.1:9",
        out: `${tmp}/dist`,
        cacheDir: `${Deno.env.get("TMPDIR") ?? "/tmp"}/splitpilot-build-cache`,
      });
      rows.push({
        measure: "build: all offline artefacts",
        ours: Math.round(result.ms),
        unit: "ms",
        note: "deno bundle ×3 + pack; runtime gzip cached",
      });
    }
    rows.push({
      measure: "Deno runtime (uncompressed, in every artefact)",
      ours: Number((result.runtimeSize / MIB).toFixed(1)),
      unit: "MiB",
      note: `Deno ${result.denoVersion}`,
    });
    for (const a of result.artefacts) {
      rows.push({
        measure: `artefact size: ${a.name} (${a.form})`,
        ours: Number((a.size / MIB).toFixed(1)),
        unit: "MiB",
        note: `bundle ${(a.bundleSize / 1024).toFixed(0)} KiB`,
      });
    }
    const wrapper = result.artefacts.find((a) =>
      a.role === "wrapper" && a.form === "offline"
    );
    if (!wrapper) return rows;
    const dir = `${tmp}/rt-wrapper`;
    const t0 = performance.now();
    await timeRun("/bin/sh", [wrapper.path, "--unpack", dir]);
    rows.push({
      measure: `unpack ${artefactName("wrapper")} (once per site work dir)`,
      ours: Math.round(performance.now() - t0),
      unit: "ms",
      note: "tail | head | gzip -dc of the runtime",
    });
    const sandbox = `${tmp}/sandbox`;
    await Deno.mkdir(sandbox);
    const built = await startups(n, `${dir}/run`, [sandbox, "--self-test"]);
    const flags = toDenoFlags(wrapperPermissions({
      broker: result.broker,
      sandbox,
      payload: [],
    }));
    const source = await startups(n, Deno.execPath(), [
      "run",
      ...LOCKDOWN_FLAGS.filter((f) => f !== "--no-remote" && f !== "--no-npm"),
      ...flags,
      `${ROOT}/wrapper.ts`,
      "--workdir",
      sandbox,
      "--self-test",
    ]);
    const ours = median(built);
    const base = median(source);
    rows.push({
      measure: "wrapper start-up to exit (--self-test): built vs deno run",
      ours: Number(ours.toFixed(1)),
      baseline: Number(base.toFixed(1)),
      unit: "ms",
      ratio: Number((ours / base).toFixed(2)),
      goal: "built ≤ 1.2× deno run of the source",
      met: ours <= base * 1.2,
      note: `median of ${n}; built min ${
        Math.min(...built).toFixed(1)
      } ms (sh launcher + bundle), source min ${
        Math.min(...source).toFixed(1)
      } ms (warm module cache)`,
    });
    return rows;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** The rows as the bench table (for the build's own output). */
export function formatBenchRows(rows: readonly BenchRow[]): string {
  return formatTable(rows);
}

if (import.meta.main) {
  console.log(
    formatBenchRows(await benchBuild({ quick: Deno.args.includes("--quick") })),
  );
}
