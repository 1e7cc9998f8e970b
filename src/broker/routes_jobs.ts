/**
 * The user's job routes: submit, list, show, trace, why, kill, resubmit
 * and the live log. Masterjob IDs are answered before these run
 * (`./master_api.ts`).
 *
 * @module
 */
import { JdlError } from "../jdl/mod.ts";
import { decodeJdl } from "../jdl/decode.ts";
import {
  canTransition,
  FINAL_STATES,
  isJobState,
  type JobState,
} from "../protocol/job_state.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import { checkObject } from "./authz.ts";
import { readLimited } from "./body_fields.ts";
import type { BrokerContext } from "./broker_context.ts";
import { badRequest, conflict, json, notFound } from "./errors.ts";
import { jobView } from "./job_view.ts";
import { masterView } from "./master_api.ts";
import { pageParams } from "./page.ts";
import { requestKey } from "./request_key.ts";
import type { RouteCall } from "./route_call.ts";
import type { JobRecord } from "./store.ts";
import { submitJob } from "./submit_job.ts";

/** `POST /api/v1/jobs`: a JDL becomes a WAITING job (or a masterjob). */
export async function submit(
  ctx: BrokerContext,
  { req, url, who }: RouteCall<"submit">,
): Promise<Response> {
  const bytes = await readLimited(req, ctx.maxJdlBytes);
  let text: string;
  try {
    text = decodeJdl(bytes);
  } catch (e) {
    if (e instanceof JdlError) throw badRequest("bad_jdl", e.message);
    throw e;
  }
  const out = await submitJob(
    {
      store: ctx.store,
      masters: await ctx.masterJobs(),
      maxWaitingSeconds: ctx.maxWaitingSeconds,
    },
    who.subject,
    text,
    {
      args: url.searchParams.getAll("arg"),
      strict: /^(1|true)$/i.test(url.searchParams.get("strict") ?? ""),
      idempotencyKey: requestKey(req),
    },
  );
  ctx.metrics.submissions.inc();
  ctx.afterCommit?.("submit", out.jobId);
  return json(out, 201);
}

/** `GET /api/v1/jobs`: one page of the caller's (or, admin, anyone's) jobs. */
export async function list(
  ctx: BrokerContext,
  { url, who }: RouteCall<"list">,
): Promise<Response> {
  const stateParam = url.searchParams.get("state");
  const states = stateParam
    ? stateParam.split(",").map((s) => s.trim().toUpperCase())
    : undefined;
  for (const s of states ?? []) {
    if (!isJobState(s)) {
      throw badRequest("bad_state", `unknown job state "${s}"`);
    }
  }
  const userParam = url.searchParams.get("user") ?? undefined;
  let owner = who.subject;
  if (who.admin) owner = userParam ?? "";
  else if (userParam && userParam !== who.subject) {
    checkObject("own_job", who, {
      job: { owner: userParam } as JobRecord,
    });
  }
  const { limit, cursor } = pageParams(url, "before");
  const before = cursor === undefined ? undefined : Number(cursor);
  if (before !== undefined && !Number.isSafeInteger(before)) {
    throw badRequest("bad_cursor", `"before" must be a job ID`);
  }
  const masters = await ctx.masterJobs();
  const masterParam = url.searchParams.get("master");
  if (masterParam !== null) {
    const m = masters && await masters.get(masterParam);
    if (!m) throw notFound(`no masterjob ${masterParam}`);
    checkObject("own_job", who, { job: { owner: m.owner } as JobRecord });
    const subs: JobRecord[] = [];
    for (const id of await masters!.subjobIds(m.id)) {
      const j = await ctx.store.get(id);
      if (j && (!states || states.includes(j.state))) subs.push(j);
    }
    return json({ master: masterView(m), jobs: subs.map(jobView) });
  }
  const jobs = await ctx.store.list({
    owner: owner || undefined,
    states: states as JobState[] | undefined,
    limit,
    before,
  });
  const ms = masters && !states && before === undefined
    ? await masters.list(owner || undefined, 100)
    : [];
  return json({
    jobs: jobs.map((j) => ({ ...jobView(j), why: ctx.waitReason(j) })),
    next: jobs.length === limit ? jobs[jobs.length - 1].id : null,
    masters: ms.map(masterView),
  });
}

/** `GET /api/v1/jobs/:id`. */
export function show(
  _ctx: BrokerContext,
  { job }: RouteCall<"job">,
): Promise<Response> {
  return Promise.resolve(json(jobView(job)));
}

/** `GET /api/v1/jobs/:id/trace`: the job and its transitions. */
export async function trace(
  ctx: BrokerContext,
  { job }: RouteCall<"trace">,
): Promise<Response> {
  const entries = await ctx.store.trace(job.id);
  return json({
    job: { ...jobView(job), why: ctx.waitReason(job) },
    trace: entries.map((t) => ({ ...t, at: new Date(t.at).toISOString() })),
  });
}

/** `GET /api/v1/jobs/:id/why`: why a waiting job has not been matched. */
export function why(
  ctx: BrokerContext,
  { job }: RouteCall<"why">,
): Promise<Response> {
  return Promise.resolve(json({
    jobId: job.id,
    state: job.state,
    why: ctx.waitReason(job),
  }));
}

/** `POST /api/v1/jobs/:id/kill`. */
export async function kill(
  ctx: BrokerContext,
  { job, who }: RouteCall<"kill">,
): Promise<Response> {
  if (FINAL_STATES.has(job.state)) {
    throw conflict("final", `job ${job.id} is already ${job.state}`);
  }
  const ok = await ctx.store.transition(job.id, job.state, "KILLED", {
    actor: `USER:${who.subject}`,
    reason: `killed by user ${who.subject} (kill reason ${KillReason.USER})`,
  }, { killReason: KillReason.USER });
  if (!ok) throw conflict("raced", `job ${job.id} changed state; retry`);
  return json({ jobId: job.id, state: "KILLED" });
}

/** `POST /api/v1/jobs/:id/resubmit`: a failed, killed or lost job again. */
export async function resubmit(
  ctx: BrokerContext,
  { job, who }: RouteCall<"resubmit">,
): Promise<Response> {
  if (!FINAL_STATES.has(job.state) || !canTransition(job.state, "WAITING")) {
    throw conflict(
      "not_resubmittable",
      `job ${job.id} is ${job.state}; only failed, killed, expired or zombie jobs can be resubmitted`,
    );
  }
  const ok = await ctx.store.transition(job.id, job.state, "WAITING", {
    actor: `USER:${who.subject}`,
    reason: `resubmitted by user ${who.subject} from ${job.state}`,
  });
  if (!ok) throw conflict("raced", `job ${job.id} changed state; retry`);
  return json({ jobId: job.id, state: "WAITING" });
}

/** `GET /api/v1/jobs/:id/log?after=N`: live output from line N on. */
export function logRead(
  ctx: BrokerContext,
  { url, job }: RouteCall<"log">,
): Promise<Response> {
  const after = Number(url.searchParams.get("after") ?? "0");
  if (!Number.isInteger(after) || after < 0) {
    throw badRequest("bad_field", `"after" must be a whole number >= 0`);
  }
  const page = ctx.live.read(job.id, after);
  return Promise.resolve(json({
    ...page,
    state: job.state,
    final: FINAL_STATES.has(job.state),
  }));
}
