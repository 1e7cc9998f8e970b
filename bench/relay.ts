/**
 * The relay against direct wrapper connections (issue 20), same machine,
 * same run: one agent process (`--cores 2`, wrappers in bwrap) runs N jobs
 * with payload `/bin/true`, once with `--wrapper-net relay` (the default:
 * the wrapper has no network, the agent makes its calls over its own
 * connections) and once with `--wrapper-net direct` (the wrapper holds the
 * job token and connects itself, as before the relay).
 *
 * Rows: throughput (jobs/s over the steady part); launch (per job, the
 * agent's "matched" line to its final line); broker requests per job as
 * the broker counts them (a relayed call counts as the job's); TLS
 * handshakes per job made with a job certificate, i.e. by wrappers
 * (counted per connection at the broker); the agent's TLS handshakes per
 * job; and the agent's peak RSS (VmHWM from /proc) while 8 jobs upload
 * 10 MB each, 2 at a time.
 *
 * @module
 */
import { TextLineStream } from "@std/streams";
import { agentCommand } from "../src/launch/role_process.ts";
import type { BenchRow } from "./bench_row.ts";
import { type BenchGrid, startBenchGrid } from "./_bench_grid.ts";
import { describe, round, summarize } from "./_stats.ts";

/** Options of {@link benchRelay}. */
export interface BenchRelayOptions {
  /** Fewer jobs. @default false */
  quick?: boolean;
}

type Mode = "relay" | "direct";

interface RunResult {
  rate: number;
  launches: number[];
  requests: number;
  byEndpoint: string;
  wrapperHandshakes: number;
  agentHandshakes: number;
  peakRssMb: number;
}

const TRUE_JDL = `Executable = "/bin/true";\nTTL = 60;\n`;
const UPLOAD_JDL = `Executable = "/usr/bin/head";
Arguments = "-c 10485760 /dev/urandom";
Output = {"stdout@disk=1"};
OutputFile = {"stdout"};
TTL = 120;
`;
const FINAL_LINE = /^\[agent\] job (\S+): ([A-Z_]+) \(exit -?\d+\)/;
const MATCH_LINE = /^\[agent\] job (\S+): matched \(/;

/** VmHWM from /proc, read by `cat`: Deno refuses /proc to anything but -A. */
async function vmHwmMb(pid: number): Promise<number | undefined> {
  const out = await new Deno.Command("/bin/cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const m = /^VmHWM:\s+(\d+) kB/m.exec(new TextDecoder().decode(out.stdout));
  return m ? Number(m[1]) / 1024 : undefined; // undefined: gone
}

/** Runs `n` jobs of `jdl` through one agent in `mode`; see the module doc. */
async function runAgent(
  grid: BenchGrid,
  mode: Mode,
  jdl: string,
  n: number,
): Promise<RunResult> {
  await grid.submit(jdl, n);
  grid.counts.clear();
  grid.handshakes.clear();
  const { cmd, args } = agentCommand({
    broker: grid.url,
    tokenDir: grid.agentTokenDir,
    workRoot: `${grid.dir}/work-${mode}`,
    containers: "bwrap",
    extraArgs: ["--cores", "2", "--max-empty", "1", "--wrapper-net", mode],
  });
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const v = await vmHwmMb(child.pid);
      if (v !== undefined) peak = Math.max(peak, v);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const matched = new Map<string, number>();
  const launches: number[] = [];
  const ends: number[] = [];
  let firstMatch: number | undefined;
  let done = 0;
  const tail: string[] = [];
  const lines = child.stderr.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  for await (const line of lines) {
    const now = performance.now();
    tail.push(line);
    if (tail.length > 20) tail.shift();
    const m = MATCH_LINE.exec(line);
    if (m) {
      matched.set(m[1], now);
      firstMatch ??= now;
    }
    const f = FINAL_LINE.exec(line);
    if (f) {
      ends.push(now);
      if (f[2] === "DONE") done++;
      const t = matched.get(f[1]);
      if (t !== undefined) launches.push((now - t) / 1000);
    }
  }
  const status = await child.status;
  sampling = false;
  await sampler;
  if (!status.success || done !== n || firstMatch === undefined) {
    throw new Error(
      `${mode}: agent exited ${status.code} with ${done}/${n} DONE: ${
        tail.join(" | ")
      }`,
    );
  }
  let requests = 0;
  const parts: string[] = [];
  for (const [key, count] of [...grid.counts].sort()) {
    requests += count;
    parts.push(`${key} ${round(count / n, 3)}`);
  }
  return {
    rate: n / ((ends[ends.length - 1] - firstMatch) / 1000),
    launches,
    requests: requests / n,
    byEndpoint: parts.join(", "),
    wrapperHandshakes: (grid.handshakes.get("job") ?? 0) / n,
    agentHandshakes: (grid.handshakes.get("agent") ?? 0) / n,
    peakRssMb: peak,
  };
}

/** Runs the relay entry; see the module doc. */
export async function benchRelay(
  opts: BenchRelayOptions = {},
): Promise<BenchRow[]> {
  const n = opts.quick ? 60 : 300;
  const uploads = opts.quick ? 4 : 8;
  const grid = await startBenchGrid();
  try {
    const runs = {} as Record<Mode, RunResult>;
    const up = {} as Record<Mode, RunResult>;
    // Alternate the order so neither mode always runs on a warmer machine.
    for (const mode of ["direct", "relay"] as Mode[]) {
      runs[mode] = await runAgent(grid, mode, TRUE_JDL, n);
    }
    for (const mode of ["relay", "direct"] as Mode[]) {
      up[mode] = await runAgent(grid, mode, UPLOAD_JDL, uploads);
    }
    const r = runs.relay;
    const d = runs.direct;
    const lr = summarize(r.launches);
    const ld = summarize(d.launches);
    return [
      {
        measure:
          `relay: throughput, ${n} × /bin/true, 1 agent --cores 2, bwrap, relayed vs direct`,
        ours: round(r.rate),
        baseline: round(d.rate),
        unit: "jobs/s",
        ratio: round(r.rate / d.rate),
        goal: "≥ 0.9 × direct",
        met: r.rate >= 0.9 * d.rate,
        note: "first match → last job end, same agent flags but --wrapper-net",
      },
      {
        measure: "relay: launch, agent's match → job end (/bin/true)",
        ours: round(lr.median),
        baseline: round(ld.median),
        unit: "s",
        ratio: round(lr.median / ld.median),
        goal: "≤ 1.1 × direct",
        met: lr.median <= 1.1 * ld.median,
        note: `relayed ${describe(lr, "s")}; direct ${describe(ld, "s")}`,
      },
      {
        measure: "relay: broker requests per job (counted at the broker)",
        ours: round(r.requests),
        baseline: round(d.requests),
        unit: "requests",
        ratio: round(r.requests / d.requests),
        goal: "= direct (the relay changes the transport, not the calls)",
        met: Math.abs(r.requests - d.requests) < 0.5,
        note: `relayed: ${r.byEndpoint}`,
      },
      {
        measure: "relay: TLS handshakes per job from wrappers",
        ours: round(r.wrapperHandshakes),
        baseline: round(d.wrapperHandshakes),
        unit: "handshakes",
        goal: "0",
        met: r.wrapperHandshakes === 0,
        note:
          `connections with a job certificate, counted at the broker; the agent's own: ${
            round(r.agentHandshakes)
          } per job relayed, ${round(d.agentHandshakes)} direct`,
      },
      {
        measure:
          `relay: agent peak RSS, ${uploads} jobs uploading 10 MB each, 2 at a time`,
        ours: round(up.relay.peakRssMb),
        baseline: round(up.direct.peakRssMb),
        unit: "MB",
        ratio: round(up.relay.peakRssMb / up.direct.peakRssMb),
        goal: "< 150 MB",
        met: up.relay.peakRssMb < 150,
        note:
          "VmHWM of the agent process from /proc; direct: the wrappers upload themselves",
      },
    ];
  } finally {
    await grid.close();
  }
}
