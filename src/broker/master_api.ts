/**
 * The API's answers for masterjobs: show, trace, kill and resubmit act on
 * a master by acting on its subjobs.
 *
 * @module
 */
import { json } from "./errors.ts";
import type { MasterJobs, MasterRecord } from "./masterjobs.ts";
import { canTransition, FINAL_STATES } from "../protocol/job_state.ts";
import type { JobStore } from "./store.ts";
import { KillReason } from "../protocol/kill_reason.ts";

/** The public view of a master (`ps`, `GET /jobs/:id`). */
export function masterView(m: MasterRecord): Record<string, unknown> {
  return {
    id: m.id,
    owner: m.owner,
    state: m.state,
    master: true,
    split: m.split,
    subjobs: m.subjobs,
    counts: m.counts,
    createdAt: new Date(m.createdAt).toISOString(),
    updatedAt: new Date(m.updatedAt).toISOString(),
  };
}

/** Handles a job route whose ID names a master. */
export async function masterRoute(
  route: string,
  m: MasterRecord,
  user: string,
  store: JobStore,
  masters: MasterJobs,
): Promise<Response | undefined> {
  switch (route) {
    case "job":
      return json(masterView(m));
    case "trace": {
      const trace = await store.trace(m.id);
      return json({
        job: masterView(m),
        trace: trace.map((t) => ({ ...t, at: new Date(t.at).toISOString() })),
      });
    }
    case "kill": {
      let n = 0;
      for (const id of await masters.subjobIds(m.id)) {
        const job = await store.get(id);
        if (!job || FINAL_STATES.has(job.state)) continue;
        const ok = await store.transition(id, job.state, "KILLED", {
          actor: `USER:${user}`,
          reason:
            `master ${m.id} killed by user ${user} (kill reason ${KillReason.USER})`,
        }, { killReason: KillReason.USER });
        if (ok) n++;
      }
      const now = await masters.get(m.id);
      return json({ jobId: m.id, state: now?.state ?? m.state, killed: n });
    }
    case "resubmit": {
      let n = 0;
      for (const id of await masters.subjobIds(m.id)) {
        const job = await store.get(id);
        if (
          !job || job.state === "DONE" || !FINAL_STATES.has(job.state) ||
          !canTransition(job.state, "WAITING")
        ) continue;
        const ok = await store.transition(id, job.state, "WAITING", {
          actor: `USER:${user}`,
          reason:
            `master ${m.id} resubmitted by user ${user} from ${job.state}`,
        });
        if (ok) n++;
      }
      if (n > 0) {
        await masters.reopen(
          m.id,
          `USER:${user}`,
          `${n} subjobs resubmitted by user ${user}`,
        );
      }
      const now = await masters.get(m.id);
      return json({
        jobId: m.id,
        state: now?.state ?? m.state,
        resubmitted: n,
      });
    }
  }
  return undefined;
}
