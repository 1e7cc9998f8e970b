/**
 * Whether an agent pre-starts wrappers, and its pool when it does.
 *
 * @module
 */
import { CgroupSampler } from "../watchdog/cgroup_sampler.ts";
import type { Sampler } from "../watchdog/sampler.ts";
import { WarmPool, type WarmPoolOptions } from "./warm_pool.ts";

/**
 * The agent's pool, or `undefined` when it pre-starts nothing: switched
 * off (`prestart: false`), or with the cgroup sampler, which must put the
 * launcher into the job's cgroup right after its spawn, before the job is
 * known (an idle wrapper would stay in the agent's cgroup).
 */
export function warmPool(
  opts: { prestart?: boolean },
  sampler: Sampler | undefined,
  pool: WarmPoolOptions,
): WarmPool | undefined {
  if (opts.prestart === false || sampler instanceof CgroupSampler) {
    return undefined;
  }
  return new WarmPool(pool);
}
