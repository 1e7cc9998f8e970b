/**
 * The broker core: a pure `(Request, Peer) → Response` handler.
 *
 * No sockets here: the HTTPS adapter ({@link ./https_server.ts}) passes the
 * verified peer certificate in `peer`, and tests may call the handler
 * directly. Every request is authenticated (certificate chains to our CA,
 * within its validity window, job tokens alive for their job) and
 * authorized through the one table in {@link ./authz.ts}.
 *
 * @module
 */
import {
  JdlError,
  type JobDescription,
  parseJdl,
  type SiteMap,
} from "../jdl/mod.ts";
import type {
  TokenIdentity,
  TokenIssuer,
  TokenVerifier,
} from "../token/mod.ts";
import { isClientAbort } from "./client_abort.ts";
import {
  alreadyApplied,
  attemptLfn,
  inAttemptTree,
  recordAccounting,
} from "./attempts.ts";
import { authorize, checkObject, findRoute, type RouteMatch } from "./authz.ts";
import type { BlobStore } from "./blob_store.ts";
import {
  badRequest,
  conflict,
  errorResponse,
  forbidden,
  HttpError,
  json,
  notFound,
  unauthenticated,
} from "./errors.ts";
import { decodeJdl } from "../jdl/decode.ts";
import { jobOutputDir, validateLfn } from "./lfn.ts";
import { claimFor } from "./claim.ts";
import { masterRoute, masterView } from "./master_api.ts";
import { MasterJobs } from "./masterjobs.ts";
import { RecentOffers } from "./recent_offers.ts";
import { siteAttributes } from "./site_attributes.ts";
import { SqliteJobStore } from "./store_sqlite.ts";
import { submitJob } from "./submit_job.ts";
import { explainWait, WHY_WINDOW_MS } from "./why.ts";
import { requestKey } from "./request_key.ts";
import { pageParams } from "./page.ts";
import { checkDeclaredSize, DEFAULT_MAX_UPLOAD_BYTES } from "./upload_limit.ts";
import {
  ACTIVE_STATES,
  BROKER_ONLY_STATES,
  canTransition,
  FINAL_STATES,
  isJobState,
  type JobState,
  RESUBMITTABLE,
} from "../protocol/job_state.ts";
import type { JobRecord, JobStore } from "./store.ts";
import type { Usage } from "../protocol/usage.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import { ArtefactStore } from "../site/artefact_store.ts";
import { SiteService } from "./site_service.ts";
import { BrokerMetrics } from "./broker_metrics.ts";
import { LiveLog } from "./live_log.ts";
import { runBatch } from "./batch.ts";

/** What the transport knows about the client. */
export interface Peer {
  /** DER of the client certificate, if it presented one. */
  certDer?: Uint8Array;
  /** The TLS layer's verdict (chain to our CA); `undefined` without TLS. */
  tlsAuthorized?: boolean;
  /** The TLS layer's reason when it did not authorize. */
  tlsError?: string;
}

/** A request handler. */
export type Handler = (req: Request, peer: Peer) => Promise<Response>;

/** Options of {@link createBrokerHandler}. */
export interface BrokerOptions {
  /** Extra lifetime of a job token beyond the job TTL, s. @default 600 */
  jobTokenMarginSeconds?: number;
  /** Automatic resubmissions before a failure is final. @default 10 */
  maxResubmissions?: number;
  /**
   * Seconds a job may wait when its JDL has no `MaxWaitingTime`; then it
   * becomes EXPIRED. @default 604800 (7 days)
   */
  maxWaitingSeconds?: number;
  /**
   * Running jobs (ASSIGNED to SAVING) one user may have; per-user values
   * set in the store win. @default Infinity
   */
  userQuota?: number;
  /**
   * Seconds between sweeps for zombies and expired jobs (used by
   * `startBroker`; 0 = no sweeper). @default 30
   */
  sweepIntervalSeconds?: number;
  /**
   * Seconds without a heartbeat after which an active job becomes ZOMBIE
   * (used by `startBroker`). @default 900
   */
  zombieAfterSeconds?: number;
  /** Largest JDL accepted, bytes. @default 262144 */
  maxJdlBytes?: number;
  /** Largest file upload, bytes. @default 4 GiB */
  maxUploadBytes?: number;
  /**
   * Directory of built artefacts served to agents at
   * `GET /api/v1/artefacts/<name>` (`startBroker`: `<state>/artefacts`).
   * @default none (404)
   */
  artefactsDir?: string;
  /**
   * Called after submit or match committed, before the answer is sent.
   * Tests use it to crash the broker at exactly that point.
   */
  afterCommit?: (op: "submit" | "match", jobId: string) => void;
  /**
   * Metrics to count into (shared with the sweeper by `startBroker`).
   * @default a fresh set
   */
  metrics?: BrokerMetrics;
  /** Called with unexpected errors (500s). @default console.error */
  onError?: (e: unknown, req: Request) => void;
}

/** What the handler works on. */
export interface BrokerDeps {
  /** The task queue. */
  store: JobStore;
  /** File contents. */
  blobs: BlobStore;
  /** Issues job tokens at match time. */
  issuer: TokenIssuer;
  /** Verifies client certificates. */
  verifier: TokenVerifier;
  /** Masterjobs; opened next to a SQLite store when absent. */
  masters?: MasterJobs;
}

const MAX_JSON_BYTES = 64 * 1024;

/** Builds the broker handler. */
export function createBrokerHandler(
  deps: BrokerDeps,
  opts: BrokerOptions = {},
): Handler {
  const metrics = opts.metrics ?? new BrokerMetrics();
  const core = new BrokerCore(deps, opts, metrics);
  return async (req, peer) => {
    const t0 = performance.now();
    let res: Response;
    try {
      // One durable sync for all the request's writes (group_commit.ts).
      res = deps.store.withOneSync
        ? await deps.store.withOneSync(() => core.handle(req, peer))
        : await core.handle(req, peer);
    } catch (e) {
      // A client gone mid-body is its own business: no stack trace.
      if (isClientAbort(e)) {
        return errorResponse(
          new HttpError(400, "client_aborted", "the client went away"),
        );
      }
      if (!(e instanceof HttpError)) {
        (opts.onError ?? ((err) => console.error("broker:", err)))(e, req);
      }
      res = errorResponse(e);
    }
    metrics.requests.observe(
      { route: routeName(req), status: String(res.status) },
      (performance.now() - t0) / 1000,
    );
    return res;
  };
}

/** The route name of a request, for metric labels (bounded cardinality). */
function routeName(req: Request): string {
  try {
    const found = findRoute(req.method, new URL(req.url).pathname);
    return typeof found === "object" ? found.route.name : "unknown";
  } catch {
    return "unknown"; // e.g. a bad percent-escape (already answered 400)
  }
}

async function readLimited(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) {
    throw new HttpError(413, "too_large", `body exceeds ${max} bytes`);
  }
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of req.body) {
    size += c.byteLength;
    if (size > max) {
      throw new HttpError(413, "too_large", `body exceeds ${max} bytes`);
    }
    chunks.push(c);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

async function readJson(req: Request): Promise<Record<string, unknown>> {
  const bytes = await readLimited(req, MAX_JSON_BYTES);
  if (bytes.byteLength === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw badRequest(
      "bad_json",
      `request body is not valid JSON: ${(e as Error).message}`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw badRequest("bad_json", "expected a JSON object as request body");
  }
  return v as Record<string, unknown>;
}

function num(
  body: Record<string, unknown>,
  key: string,
  fallback?: number,
): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw badRequest("bad_field", `"${key}" must be a non-negative number`);
  }
  return v;
}

function str(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > 4096) {
    throw badRequest(
      "bad_field",
      `"${key}" must be a string of at most 4096 characters`,
    );
  }
  return v;
}

function strList(body: Record<string, unknown>, key: string): string[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (
    !Array.isArray(v) || v.length > 10000 ||
    !v.every((x) => typeof x === "string")
  ) {
    throw badRequest("bad_field", `"${key}" must be a list of strings`);
  }
  return v as string[];
}

function parseUsage(v: unknown): Usage | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw badRequest("bad_field", `"usage" must be an object`);
  }
  const u = v as Record<string, unknown>;
  return {
    cpuSeconds: num(u, "cpuSeconds", 0)!,
    rssBytes: num(u, "rssBytes", 0)!,
    maxRssBytes: num(u, "maxRssBytes"),
    wallSeconds: num(u, "wallSeconds", 0)!,
    diskBytes: num(u, "diskBytes", 0)!,
  };
}

/** Public view of a job. */
export function jobView(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    owner: job.owner,
    state: job.state,
    priority: job.priority,
    cpuCores: job.cpuCores,
    ttl: job.ttl,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    resubmissions: job.resubmissions,
    exitCode: job.exitCode ?? null,
    killReason: job.killReason ?? null,
    agent: job.agentSubject ?? null,
    usage: job.usage ?? null,
    memory: job.memory,
    disk: job.disk,
    expiresAt: job.expiresAt === undefined
      ? null
      : new Date(job.expiresAt).toISOString(),
    heartbeatAt: job.heartbeatAt === undefined
      ? null
      : new Date(job.heartbeatAt).toISOString(),
    message: job.message ?? null,
  };
}

class BrokerCore {
  #deps: BrokerDeps;
  #margin: number;
  #maxResub: number;
  #maxWait: number;
  #quota: number;
  #maxJdl: number;
  #maxUpload: number;
  #artefacts?: ArtefactStore;
  #afterCommit: BrokerOptions["afterCommit"];
  #sites: SiteService;
  #metrics: BrokerMetrics;
  #live = new LiveLog();
  #parsed = new Map<string, JobDescription>();
  #masters?: Promise<MasterJobs | undefined>;
  /** The store itself (not the timed wrapper), for masterjob tables. */
  #rawStore: JobStore;
  #offers = new RecentOffers();

  constructor(deps: BrokerDeps, opts: BrokerOptions, metrics: BrokerMetrics) {
    this.#metrics = metrics;
    this.#deps = { ...deps, store: metrics.timeStore(deps.store) };
    this.#rawStore = deps.store;
    this.#margin = opts.jobTokenMarginSeconds ?? 600;
    this.#maxResub = opts.maxResubmissions ?? 10;
    this.#maxWait = opts.maxWaitingSeconds ?? 7 * 24 * 3600;
    this.#quota = opts.userQuota ?? Infinity;
    this.#maxJdl = opts.maxJdlBytes ?? 256 * 1024;
    this.#afterCommit = opts.afterCommit;
    this.#maxUpload = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    if (opts.artefactsDir) {
      this.#artefacts = new ArtefactStore(opts.artefactsDir);
    }
    this.#sites = new SiteService(
      this.#deps.store,
      deps.issuer,
      this.#artefacts,
      () => metrics.tokens.inc({ role: "JOB_AGENT" }),
    );
  }

  /** Masterjob bookkeeping (opened on first use). */
  #masterJobs(): Promise<MasterJobs | undefined> {
    const store = this.#rawStore;
    this.#masters ??= this.#deps.masters
      ? Promise.resolve(this.#deps.masters)
      : store instanceof SqliteJobStore
      ? MasterJobs.open(store)
      : Promise.resolve(undefined);
    return this.#masters;
  }

  /** Parsed JDL of a job, cached (JDLs never change after submission). */
  #jdl(job: JobRecord): JobDescription {
    let jd = this.#parsed.get(job.id);
    if (!jd) {
      jd = parseJdl(job.jdl, { strict: false });
      if (this.#parsed.size > 10000) this.#parsed.clear();
      this.#parsed.set(job.id, jd);
    }
    return jd;
  }

  async #identify(peer: Peer): Promise<TokenIdentity> {
    if (!peer.certDer) {
      throw unauthenticated(
        "no_certificate",
        "a client certificate (token) is required",
      );
    }
    let who: TokenIdentity;
    try {
      who = await this.#deps.verifier.verify(peer.certDer);
    } catch (e) {
      const reason = (e as { reason?: string }).reason ?? "invalid";
      throw unauthenticated(
        reason,
        `certificate refused: ${(e as Error).message}`,
      );
    }
    // Second, independent gate: the TLS layer's own chain check.
    if (peer.tlsAuthorized === false) {
      throw unauthenticated(
        "tls_unauthorized",
        `certificate refused by TLS: ${
          peer.tlsError ?? "not signed by our CA"
        }`,
      );
    }
    return who;
  }

  /** A job token is dead once its job left the active states. */
  async #checkJobToken(who: TokenIdentity): Promise<JobRecord> {
    const job = who.jobId ? await this.#deps.store.get(who.jobId) : undefined;
    if (
      !job || !ACTIVE_STATES.has(job.state) || job.tokenSerial !== who.serial
    ) {
      throw unauthenticated(
        "revoked",
        `job token for job ${who.jobId} is no longer valid${
          job ? ` (job is ${job.state})` : ""
        }`,
      );
    }
    return job;
  }

  async handle(req: Request, peer: Peer): Promise<Response> {
    const url = new URL(req.url);
    const found = findRoute(req.method, url.pathname);
    if (found === undefined) {
      throw notFound(`no endpoint ${url.pathname}`);
    }
    if (found === "method") {
      throw new HttpError(
        405,
        "method_not_allowed",
        `${req.method} not allowed on ${url.pathname}`,
      );
    }
    const who = await this.#identify(peer);
    const rule = authorize(found.route, who);
    const tokenJob = who.role === "JOB"
      ? await this.#checkJobToken(who)
      : undefined;
    let job: JobRecord | undefined;
    if (found.id !== undefined) {
      job = await this.#deps.store.get(found.id);
      const masters = job ? undefined : await this.#masterJobs();
      const master = masters && await masters.get(found.id);
      if (master && who.role === "USER") {
        checkObject(rule, who, { job: { owner: master.owner } as JobRecord });
        const res = await masterRoute(
          found.route.name,
          master,
          who.subject,
          this.#deps.store,
          masters!,
        );
        if (res) return res;
      }
      if (!job) throw notFound(`no job ${found.id}`);
    }
    let lfn: string | undefined;
    if (found.lfn !== undefined) lfn = validateLfn(found.lfn);
    checkObject(rule, who, {
      job,
      lfn,
      site: url.searchParams.get("site") ?? undefined,
      inputs: tokenJob ? this.#inputs(tokenJob) : undefined,
      jobOwner: tokenJob?.owner,
    });
    if (found.route.name === "batch") {
      return await runBatch(req, job!.id, (sub) => this.handle(sub, peer));
    }
    return await this.#dispatch(found, req, url, who, job, lfn, tokenJob);
  }

  #inputs(job: JobRecord): string[] {
    const jd = this.#jdl(job);
    return [...jd.inputFile, ...jd.inputData];
  }

  #dispatch(
    m: RouteMatch,
    req: Request,
    url: URL,
    who: TokenIdentity,
    job: JobRecord | undefined,
    lfn: string | undefined,
    tokenJob: JobRecord | undefined,
  ): Promise<Response> {
    switch (m.route.name) {
      case "health":
        return Promise.resolve(
          json({ ok: true, role: who.role, subject: who.subject }),
        );
      case "submit":
        return this.#submit(req, who);
      case "list":
        return this.#list(url, who);
      case "job":
        return Promise.resolve(json(jobView(job!)));
      case "trace":
        return this.#trace(job!);
      case "why":
        return this.#why(job!);
      case "kill":
        return this.#kill(job!, who);
      case "resubmit":
        return this.#resubmit(job!, who);
      case "match":
        return this.#match(req, who);
      case "status":
        return this.#status(req, job!, who);
      case "heartbeat":
        if (who.role === "JOB_AGENT") {
          this.#sites.registry.touch(who.fingerprint);
        }
        return this.#heartbeat(req, job!);
      case "file_list":
        return this.#fileList(url, who);
      case "file_get":
        return this.#fileGet(lfn!);
      case "file_put":
        return this.#filePut(req, lfn!, who, tokenJob);
      case "file_delete":
        return this.#fileDelete(lfn!);
      case "artefact":
        return this.#artefact(lfn!.slice(1));
      case "sites":
        return this.#sites.sites();
      case "log_append":
        return this.#logAppend(req, job!);
      case "log":
        return Promise.resolve(this.#logRead(url, job!));
      case "metrics":
        return this.#metrics.text(this.#deps.store, this.#sites.registry).then(
          (text) =>
            new Response(text, {
              headers: { "content-type": "text/plain; version=0.0.4" },
            }),
        );
      case "factory_demand":
        return readJson(req).then((b) => this.#sites.demand(who.subject, b));
      case "factory_pilot":
        return readJson(req).then((b) => this.#sites.pilot(who.subject, b));
      case "factory_report":
        return readJson(req).then((b) => this.#sites.report(who.subject, b));
    }
    throw notFound(`no endpoint ${m.route.name}`);
  }

  async #submit(req: Request, who: TokenIdentity): Promise<Response> {
    const bytes = await readLimited(req, this.#maxJdl);
    let text: string;
    try {
      text = decodeJdl(bytes);
    } catch (e) {
      if (e instanceof JdlError) throw badRequest("bad_jdl", e.message);
      throw e;
    }
    const url = new URL(req.url);
    const out = await submitJob(
      {
        store: this.#deps.store,
        masters: await this.#masterJobs(),
        maxWaitingSeconds: this.#maxWait,
      },
      who.subject,
      text,
      {
        args: url.searchParams.getAll("arg"),
        strict: /^(1|true)$/i.test(url.searchParams.get("strict") ?? ""),
        idempotencyKey: requestKey(req),
      },
    );
    this.#metrics.submissions.inc();
    this.#afterCommit?.("submit", out.jobId);
    return json(out, 201);
  }

  #why(job: JobRecord): Promise<Response> {
    return Promise.resolve(json({
      jobId: job.id,
      state: job.state,
      why: this.#waitReason(job),
    }));
  }

  /** Why a waiting job waits; undefined for other states. */
  #waitReason(job: JobRecord): string | undefined {
    if (job.state !== "WAITING") return undefined;
    try {
      return explainWait(
        this.#jdl(job),
        this.#offers.since(Date.now() - WHY_WINDOW_MS),
      );
    } catch {
      return undefined;
    }
  }

  async #list(url: URL, who: TokenIdentity): Promise<Response> {
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
    const masters = await this.#masterJobs();
    const masterParam = url.searchParams.get("master");
    if (masterParam !== null) {
      const m = masters && await masters.get(masterParam);
      if (!m) throw notFound(`no masterjob ${masterParam}`);
      checkObject("own_job", who, { job: { owner: m.owner } as JobRecord });
      const subs: JobRecord[] = [];
      for (const id of await masters!.subjobIds(m.id)) {
        const j = await this.#deps.store.get(id);
        if (j && (!states || states.includes(j.state))) subs.push(j);
      }
      return json({ master: masterView(m), jobs: subs.map(jobView) });
    }
    const jobs = await this.#deps.store.list({
      owner: owner || undefined,
      states: states as JobState[] | undefined,
      limit,
      before,
    });
    const ms = masters && !states && before === undefined
      ? await masters.list(owner || undefined, 100)
      : [];
    return json({
      jobs: jobs.map((j) => ({ ...jobView(j), why: this.#waitReason(j) })),
      next: jobs.length === limit ? jobs[jobs.length - 1].id : null,
      masters: ms.map(masterView),
    });
  }

  async #trace(job: JobRecord): Promise<Response> {
    const trace = await this.#deps.store.trace(job.id);
    return json({
      job: { ...jobView(job), why: this.#waitReason(job) },
      trace: trace.map((t) => ({ ...t, at: new Date(t.at).toISOString() })),
    });
  }

  async #kill(job: JobRecord, who: TokenIdentity): Promise<Response> {
    if (FINAL_STATES.has(job.state)) {
      throw conflict("final", `job ${job.id} is already ${job.state}`);
    }
    const ok = await this.#deps.store.transition(job.id, job.state, "KILLED", {
      actor: `USER:${who.subject}`,
      reason: `killed by user ${who.subject} (kill reason ${KillReason.USER})`,
    }, { killReason: KillReason.USER });
    if (!ok) throw conflict("raced", `job ${job.id} changed state; retry`);
    return json({ jobId: job.id, state: "KILLED" });
  }

  async #resubmit(job: JobRecord, who: TokenIdentity): Promise<Response> {
    if (!FINAL_STATES.has(job.state) || !canTransition(job.state, "WAITING")) {
      throw conflict(
        "not_resubmittable",
        `job ${job.id} is ${job.state}; only failed, killed, expired or zombie jobs can be resubmitted`,
      );
    }
    const ok = await this.#deps.store.transition(job.id, job.state, "WAITING", {
      actor: `USER:${who.subject}`,
      reason: `resubmitted by user ${who.subject} from ${job.state}`,
    });
    if (!ok) throw conflict("raced", `job ${job.id} changed state; retry`);
    return json({ jobId: job.id, state: "WAITING" });
  }

  async #logAppend(req: Request, job: JobRecord): Promise<Response> {
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
    if (!this.#live.append(job.id, lines, Date.now(), body.eof === true)) {
      throw new HttpError(
        429,
        "rate_limited",
        `log appends for job ${job.id} come too fast`,
      );
    }
    return json({ ok: true });
  }

  #logRead(url: URL, job: JobRecord): Response {
    const after = Number(url.searchParams.get("after") ?? "0");
    if (!Number.isInteger(after) || after < 0) {
      throw badRequest("bad_field", `"after" must be a whole number >= 0`);
    }
    const page = this.#live.read(job.id, after);
    return json({
      ...page,
      state: job.state,
      final: FINAL_STATES.has(job.state),
    });
  }

  async #match(req: Request, who: TokenIdentity): Promise<Response> {
    const t0 = performance.now();
    const res = await this.#matchOnce(req, who);
    this.#metrics.matches.inc({ result: res.status === 200 ? "job" : "empty" });
    this.#metrics.matchSeconds.observe(
      undefined,
      (performance.now() - t0) / 1000,
    );
    return res;
  }

  async #matchOnce(req: Request, who: TokenIdentity): Promise<Response> {
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
      ...siteAttributes(body.attributes),
    };
    this.#offers.record(who.subject, site);
    this.#sites.registry.agentSeen(
      who.fingerprint,
      site.site,
      site.cpuCores!,
      Date.now(),
      site.ce,
    );
    const job = await claimFor(
      this.#deps.store,
      site,
      { fingerprint: who.fingerprint, subject: who.subject },
      (candidate) => this.#jdl(candidate),
      { userQuota: this.#quota, requestKey: requestKey(req) },
    );
    if (!job) return new Response(null, { status: 204 });
    this.#afterCommit?.("match", job.id);
    try {
      const token = await this.#deps.issuer.issue({
        role: "JOB",
        subject: job.owner,
        owner: job.owner,
        jobId: job.id,
        ttlSeconds: job.ttl + this.#margin,
      });
      this.#metrics.tokens.inc({ role: "JOB" });
      await this.#deps.store.setTokenSerial(job.id, token.serial);
      return json({
        jobId: job.id,
        jdl: job.jdl,
        user: job.owner,
        ttl: job.ttl,
        resubmission: job.resubmissions,
        token: {
          certPem: token.certPem,
          keyPem: token.keyPem,
          caPem: this.#deps.issuer.caCertPem,
        },
      });
    } catch (e) {
      await this.#deps.store.transition(job.id, "ASSIGNED", "WAITING", {
        actor: "broker",
        reason: `job token could not be issued: ${(e as Error).message}`,
      }).catch(() => {});
      throw e;
    }
  }

  async #status(
    req: Request,
    job: JobRecord,
    who: TokenIdentity,
  ): Promise<Response> {
    const body = await readJson(req);
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
        await this.#deps.store.setUsage(job.id, usage);
        await this.#account(job, to, exitCode, killReason, usage);
      }
      return json({ jobId: job.id, state: to, attempt });
    }
    if (
      !current || !canTransition(job.state, to) ||
      BROKER_ONLY_STATES.has(to) || FINAL_STATES.has(job.state)
    ) {
      // A resent report whose answer was lost: acknowledge it again.
      if (alreadyApplied(await this.#deps.store.trace(job.id), attempt, to)) {
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
            BROKER_ONLY_STATES.has(to)
              ? ` (${to} is set by the broker only)`
              : ""
          }`
          : `attempt ${attempt} of job ${job.id} is over (now attempt ${job.resubmissions}, ${job.state})`,
        { job: view },
      );
    }
    let target: JobState = to;
    let reason = message || `reported ${to}`;
    if (to === "WAITING" && job.resubmissions >= this.#maxResub) {
      // A preempted attempt with no resubmission left ends as a failure.
      target = job.state === "ASSIGNED" ? "ERROR_A" : "ERROR_E";
      reason =
        `${reason}; preempted after ${job.resubmissions} resubmissions (limit ${this.#maxResub})`;
    } else if (to === "WAITING") {
      reason = `${reason}; preempted, resubmission ${
        job.resubmissions + 1
      }/${this.#maxResub}`;
    }
    const state = await this.#deps.store.transition(
      job.id,
      job.state,
      target,
      { actor, reason },
      {
        exitCode,
        killReason,
        usage,
        requeueLimit: RESUBMITTABLE.has(target) ? this.#maxResub : undefined,
      },
    );
    if (!state) throw conflict("raced", `job ${job.id} changed state; retry`);
    // The last heartbeat's usage when the report brings none (the wrapper's).
    await this.#account(job, target, exitCode, killReason, usage ?? job.usage);
    return json({ jobId: job.id, state });
  }

  /** Files an attempt's accounting once it ends (see attempts.ts). */
  async #account(
    job: JobRecord,
    state: JobState,
    exitCode: number | undefined,
    killReason: number | undefined,
    usage: JobRecord["usage"],
  ): Promise<void> {
    if (!usage || ACTIVE_STATES.has(state)) return;
    await recordAccounting(
      this.#deps,
      jobOutputDir(job.owner, job.id),
      job.owner,
      job.id,
      {
        attempt: job.resubmissions,
        state,
        exitCode: exitCode ?? job.exitCode,
        killReason: killReason ?? job.killReason,
        usage,
        at: new Date().toISOString(),
      },
    ).catch(() => {/* a copy: the job row keeps the usage too */});
  }

  async #heartbeat(req: Request, job: JobRecord): Promise<Response> {
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
    await this.#deps.store.heartbeat(job.id, usage);
    return json({ jobId: job.id, state: job.state });
  }

  async #fileList(url: URL, who: TokenIdentity): Promise<Response> {
    const prefix = url.searchParams.get("prefix") ?? `/${who.subject}/`;
    if (!prefix.startsWith("/")) {
      throw badRequest("bad_lfn", "prefix must start with /");
    }
    checkObject("own_path", who, { lfn: prefix });
    const { limit, cursor } = pageParams(url, "after");
    const files = await this.#deps.store.listFiles(prefix, {
      after: cursor,
      limit,
    });
    return json({
      files,
      next: files.length === limit ? files[files.length - 1].lfn : null,
    });
  }

  async #artefact(name: string): Promise<Response> {
    const file = await this.#artefacts?.open(name);
    if (!file) throw notFound(`no artefact ${name}`);
    return new Response(file.body, {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(file.size),
        "x-sha256": file.sha256,
      },
    });
  }

  async #fileGet(lfn: string): Promise<Response> {
    const file = await this.#deps.store.getFile(lfn);
    if (!file) throw notFound(`no file ${lfn}`);
    const body = await this.#deps.blobs.open(file.sha256);
    return new Response(body, {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(file.size),
        "x-sha256": file.sha256,
      },
    });
  }

  async #fileDelete(lfn: string): Promise<Response> {
    // The blob stays: it is content-addressed and may back other names.
    if (!(await this.#deps.store.deleteFile(lfn))) {
      throw notFound(`no file ${lfn}`);
    }
    return json({ lfn, deleted: true });
  }

  async #filePut(
    req: Request,
    lfn: string,
    who: TokenIdentity,
    tokenJob: JobRecord | undefined,
  ): Promise<Response> {
    if (!req.body) throw badRequest("no_body", "upload needs a body");
    const expect = req.headers.get("x-sha256") ?? undefined;
    if (expect !== undefined && !/^[0-9a-f]{64}$/.test(expect)) {
      throw badRequest(
        "bad_checksum",
        "x-sha256 must be 64 lowercase hex digits",
      );
    }
    checkDeclaredSize(req, this.#maxUpload);
    const outDir = tokenJob && jobOutputDir(tokenJob.owner, tokenJob.id);
    if (outDir && inAttemptTree(outDir, lfn)) {
      throw forbidden(
        "wrong_object",
        `${lfn}: the per-attempt copies are written by the broker only`,
      );
    }
    const stored = await this.#deps.blobs.write(req.body, {
      maxBytes: this.#maxUpload,
      expectSha256: expect,
    });
    const owner = tokenJob ? tokenJob.owner : who.subject;
    await this.#deps.store.putFile({
      lfn,
      owner,
      jobId: tokenJob?.id,
      size: stored.size,
      sha256: stored.sha256,
      createdAt: Date.now(),
    });
    if (outDir && lfn.startsWith(outDir)) {
      // The same blob, filed under this attempt too (see attempts.ts).
      await this.#deps.store.putFile({
        lfn: attemptLfn(
          outDir,
          tokenJob!.resubmissions,
          lfn.slice(outDir.length),
        ),
        owner,
        jobId: tokenJob!.id,
        size: stored.size,
        sha256: stored.sha256,
        createdAt: Date.now(),
      });
    }
    return json({ lfn, size: stored.size, sha256: stored.sha256 }, 201);
  }
}

/** Where a job's outputs are registered (re-exported for clients). */
export { jobOutputDir };
