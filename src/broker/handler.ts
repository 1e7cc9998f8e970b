/**
 * The broker core: a pure `(Request, Peer) → Response` handler.
 *
 * No sockets here: the HTTPS adapter ({@link ./https_server.ts}) passes the
 * verified peer certificate in `peer`, and tests may call the handler
 * directly. Every request is authenticated (certificate chains to our CA,
 * within its validity window, job tokens alive for their job) and
 * authorized through the one table in {@link ./authz.ts}; then the route's
 * handler from {@link ./route_handlers.ts} answers, and errors become
 * responses in one place ({@link ./errors.ts}).
 *
 * @module
 */
import type { TokenIdentity } from "../token/mod.ts";
import { isClientAbort } from "./client_abort.ts";
import { authorize, checkObject } from "./authz.ts";
import {
  BrokerContext,
  type BrokerDeps,
  type BrokerOptions,
} from "./broker_context.ts";
import {
  errorResponse,
  HttpError,
  notFound,
  unauthenticated,
} from "./errors.ts";
import { jobOutputDir, validateLfn } from "./lfn.ts";
import { masterRoute } from "./master_api.ts";
import { ACTIVE_STATES } from "../protocol/job_state.ts";
import type { JobRecord } from "./store.ts";
import { BrokerMetrics } from "./broker_metrics.ts";
import { findRoute, type RouteName } from "./routes.ts";
import { actingIdentity } from "./relayed_job.ts";
import { ROUTE_HANDLERS } from "./route_handlers.ts";
import type { BaseCall, RouteHandler } from "./route_call.ts";

export type { BrokerDeps, BrokerOptions } from "./broker_context.ts";
export { jobView } from "./job_view.ts";

/** What the transport knows about the client. */
export interface Peer {
  /** DER of the client certificate, if it presented one. */
  certDer?: Uint8Array;
  /** The TLS layer's verdict (chain to our CA); `undefined` without TLS. */
  tlsAuthorized?: boolean;
  /** The TLS layer's reason when it did not authorize. */
  tlsError?: string;
  /**
   * The connection the request came on, as an opaque key (one per TLS
   * handshake), for accounting such as the relay benchmark's.
   */
  connection?: object;
}

/** A request handler. */
export type Handler = (req: Request, peer: Peer) => Promise<Response>;

/**
 * Builds the broker handler.
 *
 * @example
 * ```ts ignore
 * const handler = createBrokerHandler({ store, blobs, issuer, verifier });
 * // No TLS: the peer is just the client certificate's DER.
 * const res = await handler(
 *   new Request("https://broker/api/v1/health"),
 *   { certDer: userCert.der },
 * );
 * res.status; // 200
 * ```
 */
export function createBrokerHandler(
  deps: BrokerDeps,
  opts: BrokerOptions = {},
): Handler {
  const metrics = opts.metrics ?? new BrokerMetrics();
  const ctx = new BrokerContext(deps, opts, metrics);
  return async (req, peer) => {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await handle(ctx, req, peer);
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

async function identify(
  ctx: BrokerContext,
  peer: Peer,
): Promise<TokenIdentity> {
  if (!peer.certDer) {
    throw unauthenticated(
      "no_certificate",
      "a client certificate (token) is required",
    );
  }
  let who: TokenIdentity;
  try {
    who = await ctx.deps.verifier.verify(peer.certDer);
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
      `certificate refused by TLS: ${peer.tlsError ?? "not signed by our CA"}`,
    );
  }
  return who;
}

/** A job token is dead once its job left the active states. */
async function checkJobToken(
  ctx: BrokerContext,
  who: TokenIdentity,
): Promise<JobRecord> {
  const job = who.jobId ? await ctx.store.get(who.jobId) : undefined;
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

/** Route, authenticate, authorize, then the route's handler. */
async function handle(
  ctx: BrokerContext,
  req: Request,
  peer: Peer,
): Promise<Response> {
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
  // An agent relaying its wrapper's call acts as the job (relayed_job.ts).
  const who = await actingIdentity(
    req,
    await identify(ctx, peer),
    ctx.deps.verifier,
    ctx.store,
  );
  const rule = authorize(found.route, who);
  const tokenJob = who.role === "JOB"
    ? await checkJobToken(ctx, who)
    : undefined;
  let job: JobRecord | undefined;
  if (found.id !== undefined) {
    job = await ctx.store.get(found.id);
    const masters = job ? undefined : await ctx.masterJobs();
    const master = masters && await masters.get(found.id);
    if (master && who.role === "USER") {
      checkObject(rule, who, { job: { owner: master.owner } as JobRecord });
      const res = await masterRoute(
        found.route.name,
        master,
        who.subject,
        ctx.store,
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
    inputs: tokenJob ? ctx.inputs(tokenJob) : undefined,
    jobOwner: tokenJob?.owner,
  });
  // findRoute gives a `:id` route its job and a `*` route its LFN, which
  // is what each handler's RouteCall type promises.
  const handler = ROUTE_HANDLERS[found.route.name] as RouteHandler<RouteName>;
  const call: BaseCall & { job?: JobRecord; lfn?: string } = {
    req,
    url,
    who,
    tokenJob,
    job,
    lfn,
  };
  return await handler(ctx, call as Parameters<typeof handler>[1]);
}

/** Where a job's outputs are registered (re-exported for clients). */
export { jobOutputDir };
