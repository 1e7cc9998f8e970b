/**
 * The routes agents and wrappers call while they run a job: match,
 * status reports, heartbeats and live output.
 *
 * @module
 */
import type { SiteMap } from "../jdl/mod.ts";
import {
  ACTIVE_STATES,
  BROKER_ONLY_STATES,
  canTransition,
  FINAL_STATES,
  isJobState,
  type JobState,
  RESUBMITTABLE,
} from "../protocol/job_state.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import { alreadyApplied } from "./attempts.ts";
import { num, parseUsage, readJson, str, strList } from "./body_fields.ts";
import type { BrokerContext } from "./broker_context.ts";
import { claimFor } from "./claim.ts";
import { badRequest, conflict, HttpError, json } from "./errors.ts";
import { requestKey } from "./request_key.ts";
import type { RouteCall } from "./route_call.ts";
import { siteAttributes } from "./site_attributes.ts";

/**
 * `POST /api/v1/match`: the best waiting job the agent's slot fits, with
 * a job token, or 204.
 */
export async function match(
  ctx: BrokerContext,
  call: RouteCall<"match">,
): Promise<Response> {
  const refused = ctx.audit.refusal(call.who);
  if (refused) throw refused;
  const t0 = performance.now();
  const res = await matchOnce(ctx, call);
  ctx.metrics.matches.inc({ result: res.status === 200 ? "job" : "empty" });
  ctx.metrics.matchSeconds.observe(
    undefined,
    (performance.now() - t0) / 1000,
  );
  return res;
}

async function matchOnce(
  ctx: BrokerContext,
  { req, who }: RouteCall<"match">,
): Promise<Response> {
  const body = await readJson(req);
  const site: SiteMap = {
    ce: str(body, "ce"),
    site: str(body, "site"),
    ttl: num(body, "ttl", 0),
    cpuCores: num(body, "cpuCores", 1),
    memory: num(body, "memory", 0),
    disk: num(body, "disk", 0),
    packages: strList(body, "packages"),
    containers: strList(body, "containers"),
    payloadNetworks: strList(body, "payloadNetworks"),
    ...siteAttributes(body.attributes),
  };
  ctx.offers.record(who.subject, site);
  ctx.sites.registry.agentSeen(
    who.fingerprint,
    site.site,
    site.cpuCores!,
    Date.now(),
    site.ce,
  );
  const job = await claimFor(
    ctx.store,
    site,
    { fingerprint: who.fingerprint, subject: who.subject },
    (candidate) => ctx.jdl(candidate),
    { userQuota: ctx.userQuota, requestKey: requestKey(req) },
  );
  if (!job) return new Response(null, { status: 204 });
  ctx.afterCommit?.("match", job.id);
  try {
    const token = await ctx.deps.issuer.issue({
      role: "JOB",
      subject: job.owner,
      owner: job.owner,
      jobId: job.id,
      ttlSeconds: job.ttl + ctx.tokenMargin,
    });
    ctx.metrics.tokens.inc({ role: "JOB" });
    await ctx.store.setTokenSerial(job.id, token.serial);
    return json({
      jobId: job.id,
      jdl: job.jdl,
      user: job.owner,
      ttl: job.ttl,
      resubmission: job.resubmissions,
      token: {
        certPem: token.certPem,
        keyPem: token.keyPem,
        caPem: ctx.deps.issuer.caCertPem,
      },
    });
  } catch (e) {
    await ctx.store.transition(job.id, "ASSIGNED", "WAITING", {
      actor: "broker",
      reason: `job token could not be issued: ${(e as Error).message}`,
    }).catch(() => {});
    throw e;
  }
}

/**
 * `POST /api/v1/jobs/:id/status`: a state report for one attempt; resent
 * reports are acknowledged again, late or illegal ones are a 409.
 */
export async function status(
  ctx: BrokerContext,
  { req, job, who }: RouteCall<"status">,
): Promise<Response> {
  const body = await readJson(req);
  // The agent's verdict on the wrapper's permission audit (audit_book.ts).
  const audit = ctx.audit.parse(body.audit, who);
  const res = await applyStatus(ctx, body, job, who);
  if (audit) {
    const attempt = num(body, "attempt") ?? job.resubmissions;
    await ctx.audit.record(job.id, attempt, audit, who);
  }
  return res;
}

async function applyStatus(
  ctx: BrokerContext,
  body: Record<string, unknown>,
  job: RouteCall<"status">["job"],
  who: RouteCall<"status">["who"],
): Promise<Response> {
  const to = body.state;
  if (!isJobState(to)) {
    throw badRequest(
      "bad_state",
      `"state" must be a job state (WAITING, STARTED, RUNNING, SAVING, DONE, ERROR_*, ...), got ${
        JSON.stringify(to)
      }`,
    );
  }
  const message = str(body, "message") ?? "";
  const exitCode = num(body, "exitCode");
  const killReason = num(body, "killReason");
  const usage = parseUsage(body.usage);
  const actor = `${who.role}:${who.subject}`;
  // Reports name their attempt; one without is for the current attempt.
  const attempt = num(body, "attempt") ?? job.resubmissions;
  const view = { state: job.state, attempt: job.resubmissions };
  const current = attempt === job.resubmissions;
  if (current && job.state === to) {
    // The agent's usage summary for an attempt its wrapper ended.
    if (usage) {
      await ctx.store.setUsage(job.id, usage);
      await ctx.account(job, to, exitCode, killReason, usage);
    }
    return json({ jobId: job.id, state: to, attempt });
  }
  if (
    !current || !canTransition(job.state, to) ||
    BROKER_ONLY_STATES.has(to) || FINAL_STATES.has(job.state)
  ) {
    // A resent report whose answer was lost: acknowledge it again.
    if (alreadyApplied(await ctx.store.trace(job.id), attempt, to)) {
      return json({ jobId: job.id, state: job.state, attempt, resent: true });
    }
    // Reports move active jobs only: leaving a final state (resubmission)
    // is for the user and the broker, never for an agent's late report.
    if (current && FINAL_STATES.has(job.state)) {
      throw conflict(
        "final",
        `job ${job.id} is already ${job.state}; a report cannot change it`,
        { job: view },
      );
    }
    throw conflict(
      current ? "illegal_transition" : "superseded",
      current
        ? `job ${job.id} cannot go from ${job.state} to ${to}${
          BROKER_ONLY_STATES.has(to) ? ` (${to} is set by the broker only)` : ""
        }`
        : `attempt ${attempt} of job ${job.id} is over (now attempt ${job.resubmissions}, ${job.state})`,
      { job: view },
    );
  }
  const maxResub = ctx.maxResubmissions;
  let target: JobState = to;
  let reason = message || `reported ${to}`;
  if (to === "WAITING" && job.resubmissions >= maxResub) {
    // A preempted attempt with no resubmission left ends as a failure.
    target = job.state === "ASSIGNED" ? "ERROR_A" : "ERROR_E";
    reason =
      `${reason}; preempted after ${job.resubmissions} resubmissions (limit ${maxResub})`;
  } else if (to === "WAITING") {
    reason = `${reason}; preempted, resubmission ${
      job.resubmissions + 1
    }/${maxResub}`;
  }
  const state = await ctx.store.transition(
    job.id,
    job.state,
    target,
    { actor, reason },
    {
      exitCode,
      killReason,
      usage,
      requeueLimit: RESUBMITTABLE.has(target) ? maxResub : undefined,
    },
  );
  if (!state) throw conflict("raced", `job ${job.id} changed state; retry`);
  // The last heartbeat's usage when the report brings none (the wrapper's).
  await ctx.account(job, target, exitCode, killReason, usage ?? job.usage);
  return json({ jobId: job.id, state });
}

/**
 * `POST /api/v1/jobs/:id/heartbeat`: usage, and the kill order for a job
 * the user killed.
 */
export async function heartbeat(
  ctx: BrokerContext,
  { req, job, who }: RouteCall<"heartbeat">,
): Promise<Response> {
  if (who.role === "JOB_AGENT") ctx.sites.registry.touch(who.fingerprint);
  const body = await readJson(req);
  const usage = parseUsage(body.usage);
  if (job.state === "KILLED") {
    return json({
      jobId: job.id,
      state: job.state,
      kill: {
        reason: job.killReason ?? KillReason.USER,
        message: job.message ?? "killed by user",
      },
    });
  }
  if (!ACTIVE_STATES.has(job.state)) {
    throw conflict("final", `job ${job.id} is ${job.state}`);
  }
  await ctx.store.heartbeat(job.id, usage);
  return json({ jobId: job.id, state: job.state });
}

/** `POST /api/v1/jobs/:id/log`: the agent forwards payload output. */
export async function logAppend(
  ctx: BrokerContext,
  { req, job }: RouteCall<"log_append">,
): Promise<Response> {
  const body = await readJson(req);
  const raw = body.lines;
  if (!Array.isArray(raw) || raw.length > 1000) {
    throw badRequest(
      "bad_field",
      `"lines" must be a list of at most 1000 lines`,
    );
  }
  const lines = raw.map((l) => {
    const r = l as Record<string, unknown>;
    if (typeof r?.text !== "string" || typeof r.stream !== "string") {
      throw badRequest(
        "bad_field",
        `each line needs "stream" and "text" strings`,
      );
    }
    return { stream: r.stream, text: r.text };
  });
  // Lines may arrive just after the wrapper's final report: the rule
  // (only the agent that matched the job) is what bounds who writes.
  if (!ctx.live.append(job.id, lines, Date.now(), body.eof === true)) {
    throw new HttpError(
      429,
      "rate_limited",
      `log appends for job ${job.id} come too fast`,
    );
  }
  return json({ ok: true });
}
