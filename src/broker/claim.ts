/**
 * The two halves of matching that the handler, the queue benchmark and the
 * queue tests share: turning a parsed JDL into a queue entry at submit,
 * and claiming the best waiting job for an agent's site map. The store's
 * match keys decide most candidates; only residual classes (requirements
 * the keys cannot express) are evaluated here.
 *
 * @module
 */
import {
  formatJdl,
  type JobDescription,
  matchKeys,
  requirementsHold,
  type SiteMap,
} from "../jdl/mod.ts";
import { matchClassKey } from "./match_class.ts";
import type {
  ClaimOptions,
  JobRecord,
  JobStore,
  NewJob,
  SlotOffer,
} from "./store.ts";

/**
 * The queue entry of a parsed job: canonical JDL text, match keys and
 * match class, as submit stores it.
 *
 * @example
 * ```ts
 * import { parseJdl } from "../jdl/mod.ts";
 * import { newJob } from "./claim.ts";
 * const job = newJob("alice", parseJdl('Executable = "/bin/true";'), 3600);
 * job.maxWaitingSeconds; // 3600
 * ```
 */
export function newJob(
  owner: string,
  jd: JobDescription,
  maxWaitingSeconds?: number,
): NewJob {
  const keys = matchKeys(jd);
  const job: NewJob = {
    owner,
    jdl: formatJdl(jd),
    priority: jd.priority,
    keys,
    matchClass: matchClassKey(jd, keys),
  };
  const wait = jd.maxWaitingTime ?? maxWaitingSeconds;
  if (wait !== undefined) job.maxWaitingSeconds = wait;
  return job;
}

/** The part of a site map the store's keys compare. */
export function slotOffer(site: SiteMap): SlotOffer {
  return {
    cpuCores: site.cpuCores ?? 1,
    ttl: site.ttl ?? 0,
    memory: site.memory ?? 0,
    disk: site.disk ?? 0,
    site: site.site,
    ce: site.ce,
    packages: site.packages ?? [],
  };
}

/**
 * Claims the best waiting job for `site` (fair share and priority are the
 * store's), evaluating the full requirements only for residual classes.
 * `jdlOf` parses a candidate's JDL (callers cache it); a JDL that no
 * longer parses or evaluates is skipped, never thrown.
 *
 * @example
 * ```ts ignore
 * const job = await claimFor(store, site, { fingerprint, subject }, (j) =>
 *   parseJdl(j.jdl)
 * );
 * ```
 */
export function claimFor(
  store: JobStore,
  site: SiteMap,
  agent: { fingerprint: string; subject: string },
  jdlOf: (job: JobRecord) => JobDescription,
  opts?: ClaimOptions,
): Promise<JobRecord | undefined> {
  return store.claim(
    slotOffer(site),
    agent,
    // Only residual classes get here: the keys said all for the rest.
    (candidate) => {
      try {
        return requirementsHold(jdlOf(candidate), site);
      } catch {
        return false;
      }
    },
    opts,
  );
}
