/**
 * The warm launch: a wrapper pre-started as the agent does it
 * (`src/agent/warm_pool.ts`), idle at its `hello`, when the job is
 * matched; from then on the same steps as the cold launch of
 * `launch_runtimes.ts`, with the clock read at the same point (the agent
 * holds the matched job).
 *
 * @module
 */
import { WarmPool, type WarmShape } from "../src/agent/warm_pool.ts";
import {
  buildLaunch,
  sourceWrapperProgram,
} from "../src/agent/wrapper_launch.ts";
import { SANDBOX_PATH } from "../src/container/driver.ts";
import { parseJdl } from "../src/jdl/mod.ts";
import { payloadPrograms } from "../src/protocol/programs.ts";
import type { BenchGrid } from "./_bench_grid.ts";
import {
  JDL,
  matchOne,
  type Milestones,
  nowMs,
  superviseTimed,
  type Variant,
} from "./launch_runtimes.ts";

/** The shape of the bench job. */
function benchShape(v: Variant): WarmShape {
  return {
    image: v.image,
    payload: payloadPrograms(parseJdl(JDL), SANDBOX_PATH),
  };
}

/** A pool for variant `v`, building launches as `launchOurs` does. */
export function warmPoolFor(
  v: Variant,
  grid: BenchGrid,
  workRoot: string,
): WarmPool {
  return new WarmPool({
    driver: v.driver,
    workRoot,
    groupKill: !v.driver.capabilities.pidNamespace,
    log: (l) => console.error(`[bench launch] ${l}`),
    build: (sandbox, shape, extraArgs) =>
      buildLaunch({
        driver: v.driver,
        program: sourceWrapperProgram(),
        sandbox,
        broker: grid.hostPort,
        payload: () => shape.payload,
        image: shape.image,
        denoDir: `${workRoot}/.deno`,
        wrapperCache: v.cache,
        extraArgs,
      }),
  });
}

/** One warm launch through `pool` (pre-started, idle, then matched). */
export async function launchOursWarm(
  grid: BenchGrid,
  v: Variant,
  pool: WarmPool,
): Promise<Milestones> {
  const shape = benchShape(v);
  pool.prestart(shape);
  if (!(await pool.idle())) {
    throw new Error(`${v.label}: the pre-started wrapper did not come up`);
  }
  const job = await matchOne(grid, v.driver.name);
  // The agent holds the job from here on.
  const t0 = nowMs();
  const w = await pool.take(shape);
  if (!w) throw new Error(`${v.label}: no pre-started wrapper to take`);
  try {
    return (await superviseTimed(grid, v, {
      job,
      t0,
      launch: w.launch,
      sandbox: w.sandbox,
      warm: w,
    })).milestones;
  } finally {
    await w.hold.release();
  }
}
