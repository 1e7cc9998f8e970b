/**
 * The broker's routes: one row per endpoint (method, path, and who may
 * call it), keyed by route name. The name is a type ({@link RouteName}):
 * the handlers' table (`./route_handlers.ts`) is a mapped type over it, so
 * a route without a handler, or a handler without a route, does not
 * compile. The authorization rules that read the `allow` column are in
 * `./authz.ts`.
 *
 * @module
 */
import type { Role } from "../token/mod.ts";
import { badRequest } from "./errors.ts";

/** What a role may act on at an endpoint. */
export type ObjectRule =
  | "any" // no object, or every object
  | "own_job" // USER: jobs they submitted (admin: all)
  | "self_job" // JOB: the job named in its token only
  | "matched_job" // JOB_AGENT: jobs this agent certificate matched
  | "own_path" // USER: files under /<user>/ (admin: all)
  | "job_output" // JOB: files under /<owner>/jobs/<jobId>/
  | "job_io" // JOB: its declared inputs under /<owner>/ or /bin/, or its outputs
  | "own_site" // HOST: the site named in its token (a site's pilot factory)
  | "admin"; // USER: admin users only (DN title=admin)

/** One endpoint, without its name. */
export interface RouteSpec {
  /** HTTP method. */
  method: "GET" | "POST" | "PUT" | "DELETE";
  /**
   * Path pattern; `:id` is a job ID, `*` the rest (an LFN). Site routes
   * name their site in the `site` query parameter.
   */
  path: string;
  /** Roles allowed, each with the rule for the object. */
  allow: Partial<Record<Role, ObjectRule>>;
}

/**
 * The table, in match order (the first row whose path and method match
 * wins). Anything not listed is refused.
 */
export const ROUTES = {
  health: {
    method: "GET",
    path: "/api/v1/health",
    allow: { USER: "any", JOB_AGENT: "any", JOB: "any" },
  },
  submit: {
    method: "POST",
    path: "/api/v1/jobs",
    allow: { USER: "any" },
  },
  list: {
    method: "GET",
    path: "/api/v1/jobs",
    allow: { USER: "own_job" },
  },
  job: {
    method: "GET",
    path: "/api/v1/jobs/:id",
    allow: { USER: "own_job", JOB: "self_job", JOB_AGENT: "matched_job" },
  },
  trace: {
    method: "GET",
    path: "/api/v1/jobs/:id/trace",
    allow: { USER: "own_job" },
  },
  // Why a waiting job has not been matched (src/broker/why.ts).
  why: {
    method: "GET",
    path: "/api/v1/jobs/:id/why",
    allow: { USER: "own_job" },
  },
  kill: {
    method: "POST",
    path: "/api/v1/jobs/:id/kill",
    allow: { USER: "own_job" },
  },
  resubmit: {
    method: "POST",
    path: "/api/v1/jobs/:id/resubmit",
    allow: { USER: "own_job" },
  },
  match: {
    method: "POST",
    path: "/api/v1/match",
    allow: { JOB_AGENT: "any" },
  },
  status: {
    method: "POST",
    path: "/api/v1/jobs/:id/status",
    allow: { JOB: "self_job", JOB_AGENT: "matched_job" },
  },
  heartbeat: {
    method: "POST",
    path: "/api/v1/jobs/:id/heartbeat",
    allow: { JOB: "self_job", JOB_AGENT: "matched_job" },
  },
  file_list: {
    method: "GET",
    path: "/api/v1/files",
    allow: { USER: "own_path" },
  },
  file_get: {
    method: "GET",
    path: "/api/v1/files/*",
    allow: { USER: "own_path", JOB: "job_io" },
  },
  file_put: {
    method: "PUT",
    path: "/api/v1/files/*",
    allow: { USER: "own_path", JOB: "job_output" },
  },
  file_delete: {
    method: "DELETE",
    path: "/api/v1/files/*",
    allow: { USER: "own_path" },
  },
  // Built agent and wrapper for startup scripts (src/site/artefact_store.ts).
  artefact: {
    method: "GET",
    path: "/api/v1/artefacts/*",
    allow: { JOB_AGENT: "any" },
  },
  // Live output, forwarded by the agent (src/broker/live_log.ts).
  log_append: {
    method: "POST",
    path: "/api/v1/jobs/:id/log",
    allow: { JOB_AGENT: "matched_job" },
  },
  log: {
    method: "GET",
    path: "/api/v1/jobs/:id/log",
    allow: { USER: "own_job" },
  },
  // Prometheus scrapes (src/broker/broker_metrics.ts).
  metrics: {
    method: "GET",
    path: "/metrics",
    allow: { USER: "admin" },
  },
  sites: {
    method: "GET",
    path: "/api/v1/sites",
    allow: { USER: "any", HOST: "any" },
  },
  // A site's pilot factory (src/factory/): WAITING jobs its slots fit.
  factory_demand: {
    method: "POST",
    path: "/api/v1/factory/demand",
    allow: { HOST: "own_site" },
  },
  // A fresh JOB_AGENT token for one pilot's startup script.
  factory_pilot: {
    method: "POST",
    path: "/api/v1/factory/pilot",
    allow: { HOST: "own_site" },
  },
  factory_report: {
    method: "PUT",
    path: "/api/v1/factory/pilots",
    allow: { HOST: "own_site" },
  },
} as const satisfies Record<string, RouteSpec>;

/** The name of a route (a key of {@link ROUTES}). */
export type RouteName = keyof typeof ROUTES;

/** One endpoint. */
export interface Route extends RouteSpec {
  /** Endpoint name (the key of its handler). */
  name: RouteName;
}

/** The table as a list, in match order. */
export const AUTHZ_TABLE: readonly Route[] = Object.entries(ROUTES).map((
  [name, spec],
) => ({ name: name as RouteName, ...spec }));

/** A route matched against a request, with its parameters. */
export interface RouteMatch {
  /** The table row. */
  route: Route;
  /** Job ID from `:id`. */
  id?: string;
  /** LFN from `*` (decoded, with a leading `/`). */
  lfn?: string;
}

const compiled = AUTHZ_TABLE.map((route) => ({
  route,
  re: new RegExp(
    "^" +
      route.path.replace(":id", "(\\d{1,18})").replace("/*", "(/.*)") +
      "$",
  ),
}));

/**
 * Finds the route for a request. Returns `"method"` when the path exists
 * with another method, `undefined` when it does not exist at all.
 */
export function findRoute(
  method: string,
  path: string,
): RouteMatch | "method" | undefined {
  let pathMatched = false;
  for (const { route, re } of compiled) {
    const m = re.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    if (route.path.includes(":id")) return { route, id: m[1] };
    if (route.path.includes("*")) return { route, lfn: decodeLfn(m[1]) };
    return { route };
  }
  return pathMatched ? "method" : undefined;
}

/** Percent-decodes an LFN from the path; bad escapes are a 400, not a 500. */
function decodeLfn(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(
      "bad_lfn",
      `bad file name "${raw.slice(0, 200)}": not valid percent-encoded UTF-8`,
    );
  }
}
