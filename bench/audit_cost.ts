/**
 * What the always-on permission audit costs: the same work with the
 * wrapper's audit on (the default) and off (`--audit off`), interleaved
 * round by round so drift hits both alike.
 *
 * - Launch: from the agent holding a matched job to the payload's first
 *   instruction (as in `launch.ts`), in-process, `none` and `bwrap` when
 *   present. Audit on includes the check at the end, off does not.
 * - Throughput: a real agent process (`--cores 2`) runs a batch of
 *   `/bin/true` jobs against a real broker, per round once with audit on
 *   and once off; jobs/s over the steady part (first match to last end),
 *   as in `throughput.ts`. Audit on includes the check, the shipped log
 *   and the broker's trace line.
 *
 * Goal: audit costs at most 5% of throughput (ratio on/off ≥ 0.95).
 *
 * @module
 */
import { agentCommand } from "../src/launch/role_process.ts";
import { TextLineStream } from "@std/streams";
import { AuditSink } from "../src/agent/audit_sink.ts";
import { createDriver } from "../src/container/select.ts";
import type { BenchRow } from "./bench_row.ts";
import { type BenchGrid, startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";
import { launchOurs, probeVariant, type Variant } from "./launch_runtimes.ts";

/** Options of {@link benchAuditCost}. */
export interface BenchAuditOptions {
  /** Fewer rounds and jobs. @default false */
  quick?: boolean;
}

/** Throughput goal: audit on ≥ this × audit off. */
const GOAL_RATIO = 0.95;
const TRUE_JDL = `Executable = "/bin/true";\nTTL = 60;\n`;
const FINAL_LINE = /^\[agent\] job (\S+): ([A-Z_]+) \(exit -?\d+\)/;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * One launch to the payload's first instruction, ms: the launch bench's
 * own, with the audit set.
 */
async function launchOnce(
  grid: BenchGrid,
  v: Variant,
  workRoot: string,
  seq: number,
  audit: boolean,
): Promise<number> {
  return (await launchOurs(grid, v, workRoot, seq, audit)).payload;
}

/** Jobs/s of one agent process over `n` queued jobs. */
async function agentRate(
  grid: BenchGrid,
  n: number,
  containers: "bwrap" | "none",
  audit: boolean,
): Promise<number> {
  await grid.submit(TRUE_JDL, n);
  const { cmd, args } = agentCommand({
    broker: grid.url,
    tokenDir: grid.agentTokenDir,
    workRoot: `${grid.dir}/work`,
    containers,
    extraArgs: [
      "--cores",
      "2",
      "--max-empty",
      "1",
      ...(audit ? [] : ["--audit", "off"]),
    ],
  });
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let first: number | undefined;
  const ends: number[] = [];
  const tail: string[] = [];
  const lines = child.stderr.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  for await (const line of lines) {
    const now = performance.now();
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (first === undefined && / matched \(/.test(line)) first = now;
    if (FINAL_LINE.test(line)) ends.push(now);
  }
  const status = await child.status;
  if (!status.success || ends.length !== n || first === undefined) {
    throw new Error(
      `agent exited ${status.code} after ${ends.length}/${n} jobs: ${
        tail.join(" | ")
      }`,
    );
  }
  return n / ((ends[ends.length - 1] - first) / 1000);
}

/** Runs the entry; see the module doc. */
export async function benchAuditCost(
  opts: BenchAuditOptions = {},
): Promise<BenchRow[]> {
  const rounds = opts.quick ? 6 : 12;
  const grid = await startBenchGrid();
  const workRoot = `${grid.dir}/launch-work`;
  await Deno.mkdir(workRoot, { recursive: true });
  await Deno.chmod(grid.dir, 0o711).catch(() => {});
  const rows: BenchRow[] = [];
  try {
    const variants: Variant[] = [{
      label: "none",
      driver: createDriver("none"),
      ours: [],
      floorRt: [],
    }];
    if (exists("/usr/bin/bwrap")) {
      variants.push({
        label: "bwrap (host rootfs)",
        driver: createDriver("bwrap"),
        ours: [],
        floorRt: [],
      });
    }
    for (const v of variants) await probeVariant(v, grid, workRoot);
    const on = new Map<string, number[]>();
    const off = new Map<string, number[]>();
    let seq = 0;
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        // Alternate which goes first, so neither always runs warm.
        for (const audit of r % 2 ? [false, true] : [true, false]) {
          const ms = await launchOnce(grid, v, workRoot, ++seq, audit);
          const m = audit ? on : off;
          m.set(v.label, [...(m.get(v.label) ?? []), ms]);
        }
      }
    }
    for (const v of variants) {
      const onMs = on.get(v.label)!;
      const offMs = off.get(v.label)!;
      const a = summarize(onMs);
      const b = summarize(offMs);
      // Per round, on and off ran back to back: their ratio sees one load.
      const q = summarize(onMs.map((x, i) => x / offMs[i]));
      rows.push({
        measure:
          `launch to payload with the permission audit on vs off: ${v.label}`,
        ours: round(a.median),
        baseline: round(b.median),
        unit: "ms",
        ratio: round(q.median),
        goal: "≤ 1.05",
        met: q.median <= 1.05,
        note: `ratio = median of ${q.n} back-to-back pairs (${
          describe(q, "")
        }); on: ${describe(a, "ms")}; off: ${describe(b, "ms")}`,
      });
    }

    const containers = exists("/usr/bin/bwrap") ? "bwrap" : "none";
    const n = opts.quick ? 30 : 60;
    const pairs = opts.quick ? 4 : 8;
    const rateOn: number[] = [];
    const rateOff: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < pairs; r++) {
      // Back to back, alternating which goes first: a pair sees the same
      // load, and its ratio is what the audit costs under that load.
      const pair: Record<string, number> = {};
      for (const audit of r % 2 ? [false, true] : [true, false]) {
        pair[String(audit)] = await agentRate(grid, n, containers, audit);
      }
      rateOn.push(pair.true);
      rateOff.push(pair.false);
      ratios.push(pair.true / pair.false);
    }
    const a = summarize(rateOn);
    const b = summarize(rateOff);
    const q = summarize(ratios);
    rows.push({
      measure:
        `throughput with the permission audit on vs off: ${n} × /bin/true per run, 1 agent --cores 2, ${containers}`,
      ours: round(a.median),
      baseline: round(b.median),
      unit: "jobs/s",
      ratio: round(q.median),
      goal: `≥ ${GOAL_RATIO} (audit costs ≤ 5%)`,
      met: q.median >= GOAL_RATIO,
      note: `ratio = median of ${pairs} back-to-back pairs (${
        describe(q, "")
      }); on: ${describe(a, "jobs/s")}; off: ${
        describe(b, "jobs/s")
      }; on = records checked at job end, log shipped, trace line filed`,
    });
    rows.push(await checkCost(opts.quick ? 200 : 1000));
    return rows;
  } finally {
    await grid.close();
  }
}

/**
 * The agent's own work per job, in-process: parse a typical wrapper's
 * audit stream (60 records, as a small job writes), check it against the
 * table and gzip the log to ship.
 */
async function checkCost(n: number): Promise<BenchRow> {
  const table = {
    net: ["127.0.0.1:8443"],
    read: ["/workdir"],
    write: ["/workdir"],
    run: ["/bin/true"],
    env: ["HOME", "PATH"],
  };
  const lines: string[] = [];
  for (let i = 0; i < 60; i++) {
    const [permission, value] = i % 3 === 0
      ? ["net", "127.0.0.1:8443"]
      : i % 3 === 1
      ? ["read", `/workdir/file-${i}`]
      : ["write", `/workdir/out-${i}`];
    lines.push(JSON.stringify({
      v: 1,
      datetime: new Date(1_800_000_000_000 + i * 1000).toISOString()
        .replace(/\.\d+Z$/, "Z"),
      permission,
      value,
    }));
    if (i % 10 === 0) lines.push(`[wrapper 2026-12-01T00:00:00Z] step ${i}`);
  }
  const stream = new TextEncoder().encode(lines.join("\n") + "\n");
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const sink = new AuditSink();
    sink.take(stream);
    sink.flush();
    const v = await sink.verdict(table, { complete: true });
    times.push(performance.now() - t0);
    if (v.records !== 60 || !v.log) throw new Error("unexpected verdict");
  }
  const s = summarize(times);
  return {
    measure:
      "agent work per job for the audit: parse 60 records, check, gzip the log",
    ours: round(s.median),
    unit: "ms",
    goal: "≤ 5% of a job (≥ 100 ms each here)",
    met: s.median <= 5,
    note: describe(s, "ms"),
  };
}
