/**
 * Pipe throughput: bytes in frames agent → wrapper-like child (echoed
 * back) beside `cat` over the same kind of pipe, from `benchPipe`.
 *
 * Each round runs `cat` and then ours once; the rounds give min and median
 * of both, and the ratio is of the medians.
 *
 * @module
 */
import { benchPipe } from "./pipe_throughput.ts";
import type { BenchRow } from "./bench_row.ts";
import { describe, round, summarize } from "./_stats.ts";

/** Options of {@link benchPipeRows}. */
export interface BenchPipeRowsOptions {
  /** 256 MiB instead of 1 GiB, fewer rounds. @default false */
  quick?: boolean;
  /** Bytes per run. @default 256 MiB quick, 1 GiB full */
  bytes?: number;
  /** Rounds. @default 3 quick, 5 full */
  rounds?: number;
}

/** Goal: ours / cat. */
const GOAL_RATIO = 0.5;

/** Runs the pipe entry; see the module doc. */
export async function benchPipeRows(
  opts: BenchPipeRowsOptions = {},
): Promise<BenchRow[]> {
  const bytes = opts.bytes ?? (opts.quick ? 256 : 1024) * 1024 * 1024;
  const rounds = opts.rounds ?? (opts.quick ? 3 : 5);
  const ours: number[] = [];
  const cat: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = await benchPipe({ bytes, rounds: 1 });
    ours.push(r.oursMBps);
    cat.push(r.catMBps);
  }
  const o = summarize(ours);
  const c = summarize(cat);
  const ratio = o.median / c.median;
  return [{
    measure: `pipe: ${
      Math.round(bytes / 2 ** 20)
    } MiB in 1 MiB frames agent → child → back`,
    ours: round(o.median),
    baseline: round(c.median),
    unit: "MB/s",
    ratio: round(ratio),
    goal: `≥ ${GOAL_RATIO}× cat`,
    met: ratio >= GOAL_RATIO,
    note: `ours ${describe(o, "MB/s")}; cat ${describe(c, "MB/s")}`,
  }];
}
