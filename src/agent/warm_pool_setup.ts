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
 * off (`prestart: false`); with the cgroup sampler, which must put the
 * launcher into the job's cgroup right after its spawn, before the job is
 * known (an idle wrapper would stay in the agent's cgroup); or with a
 * runtime whose images are references its daemon resolves when the
 * container starts (docker): a tag moved to a new image after the
 * pre-start would still run the old one for the next job.
 */
export function warmPool(
  opts: { prestart?: boolean },
  sampler: Sampler | undefined,
  pool: WarmPoolOptions,
): WarmPool | undefined {
  if (
    opts.prestart === false || sampler instanceof CgroupSampler ||
    // Images by reference: the runtime relocates, yet takes no directory.
    pool.driver.capabilities.relocates &&
      !pool.driver.capabilities.directoryImages
  ) {
    return undefined;
  }
  return new WarmPool(pool);
}
