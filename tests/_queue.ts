/**
 * Test helpers for the task queue: jobs from JDL text, a store in a temp
 * dir, and random requirements and slots (from {@link Random}).
 *
 * @module
 */
import {
  type JobDescription,
  keysAdmit,
  matchKeys,
  parseJdl,
  requirementsHold,
  type SiteMap,
} from "../src/jdl/mod.ts";
import type { Random } from "./_random.ts";
import { newJob as jobOf, slotOffer } from "../src/broker/claim.ts";
import type { NewJob, SlotOffer } from "../src/broker/store.ts";
import {
  SqliteJobStore,
  type SqliteStoreOptions,
} from "../src/broker/store_sqlite.ts";

/**
 * A {@link NewJob} from JDL text, as the handler builds it; an explicit
 * `maxWaitingSeconds` wins over the JDL's `MaxWaitingTime`.
 */
export function newJob(
  owner: string,
  text: string,
  maxWaitingSeconds?: number,
): NewJob {
  const job = jobOf(owner, parseJdl(text));
  if (maxWaitingSeconds !== undefined) {
    job.maxWaitingSeconds = maxWaitingSeconds;
  }
  return job;
}

/** A store in a fresh temp dir; `close` removes it. */
export async function tempStore(
  opts: SqliteStoreOptions = {},
): Promise<{ store: SqliteJobStore; path: string; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-queue-" });
  const path = `${dir}/jobs.db`;
  const store = new SqliteJobStore(path, opts);
  return {
    store,
    path,
    close: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const SITES = ["CERN", "GSI", "KISTI", "NIKHEF"];
const PACKAGES = ["ROOT::v6", "AliPhysics::v1", "AliPhysics::v2", "O2::v3"];

/** A random JDL with requirements of every kind the keys know, and some they do not. */
export function randomJdl(rng: Random): string {
  const lines = ['Executable = "/bin/true";'];
  lines.push(`CPUCores = ${rng.pick([1, 1, 2, 4])};`);
  lines.push(`TTL = ${rng.pick([600, 3600, 7200])};`);
  if (rng.next() < 0.3) lines.push(`MemorySize = ${rng.pick([1000, 4000])};`);
  if (rng.next() < 0.2) {
    lines.push(`WorkDirectorySize = ${rng.pick([500, 5000])};`);
  }
  if (rng.next() < 0.2) lines.push(`Packages = "${rng.pick(PACKAGES)}";`);
  if (rng.next() < 0.3) lines.push(`Priority = ${rng.int(3)};`);
  const conj: string[] = [];
  if (rng.next() < 0.3) conj.push(`other.Site == "${rng.pick(SITES)}"`);
  if (rng.next() < 0.2) {
    conj.push(
      `(other.CE == "${rng.pick(SITES)}::ce1" || other.CE == "${
        rng.pick(SITES)
      }::ce2")`,
    );
  }
  if (rng.next() < 0.3) {
    conj.push(`member(other.Packages, "${rng.pick(PACKAGES)}")`);
  }
  if (rng.next() < 0.2) conj.push(`other.TTL > ${rng.pick([1000, 5000])}`);
  if (rng.next() < 0.15) conj.push(`other.Site != "${rng.pick(SITES)}"`);
  if (rng.next() < 0.1) {
    lines.push(`Flavour = "${rng.pick(["a", "b"])}";`);
    conj.push(`Flavour == "a" || other.CPUCores >= 4`);
  }
  if (conj.length) lines.push(`Requirements = ${conj.join(" && ")};`);
  return lines.join("\n");
}

/** A random slot (memory and disk known, so `keysAdmit` is the exact oracle). */
export function randomSlot(rng: Random): SiteMap {
  const site = rng.pick(SITES);
  return {
    site,
    ce: `${site}::ce${1 + rng.int(2)}`,
    ttl: rng.pick([500, 3000, 4000, 8000]),
    cpuCores: rng.pick([1, 2, 4, 8]),
    memory: rng.pick([1000, 8000]) * 2 ** 20,
    disk: rng.pick([1000, 8000]) * 2 ** 20,
    packages: PACKAGES.filter(() => rng.next() < 0.6),
  };
}

/** The store's view of a site map (the handler's). */
export const offer: (site: SiteMap) => SlotOffer = slotOffer;

/** Whether a job fits a site, by definition (keys and requirements). */
export function fits(jd: JobDescription, site: SiteMap): boolean {
  return keysAdmit(matchKeys(jd), site) && requirementsHold(jd, site);
}
