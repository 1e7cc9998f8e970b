/**
 * The one authorization table: role × endpoint × object rule.
 *
 * Every request goes through {@link authorize} (role) and
 * {@link checkObject} (object) in the handler, and nowhere else decides who
 * may do what. The README prints this table with {@link formatAuthzTable}.
 *
 * @module
 */
import type { Role, TokenIdentity } from "../token/mod.ts";
import { badRequest, forbidden } from "./errors.ts";
import { isUserPath, jobOutputDir } from "./lfn.ts";
import type { JobRecord } from "./store.ts";

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

/** One endpoint. */
export interface Route {
  /** Endpoint name (handler dispatch key). */
  name: string;
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

/** The table. Anything not listed is refused. */
export const AUTHZ_TABLE: readonly Route[] = [
  {
    name: "health",
    method: "GET",
    path: "/api/v1/health",
    allow: { USER: "any", JOB_AGENT: "any", JOB: "any" },
  },
  {
    name: "submit",
    method: "POST",
    path: "/api/v1/jobs",
    allow: { USER: "any" },
  },
  {
    name: "list",
    method: "GET",
    path: "/api/v1/jobs",
    allow: { USER: "own_job" },
  },
  {
    name: "job",
    method: "GET",
    path: "/api/v1/jobs/:id",
    allow: { USER: "own_job", JOB: "self_job", JOB_AGENT: "matched_job" },
  },
  {
    name: "trace",
    method: "GET",
    path: "/api/v1/jobs/:id/trace",
    allow: { USER: "own_job" },
  },
  {
    // Why a waiting job has not been matched (src/broker/why.ts).
    name: "why",
    method: "GET",
    path: "/api/v1/jobs/:id/why",
    allow: { USER: "own_job" },
  },
  {
    name: "kill",
    method: "POST",
    path: "/api/v1/jobs/:id/kill",
    allow: { USER: "own_job" },
  },
  {
    name: "resubmit",
    method: "POST",
    path: "/api/v1/jobs/:id/resubmit",
    allow: { USER: "own_job" },
  },
  {
    name: "match",
    method: "POST",
    path: "/api/v1/match",
    allow: { JOB_AGENT: "any" },
  },
  {
    name: "status",
    method: "POST",
    path: "/api/v1/jobs/:id/status",
    allow: { JOB: "self_job", JOB_AGENT: "matched_job" },
  },
  {
    // Several of one job's reports in one round trip (src/broker/batch.ts):
    // each step is then authorized as the request it stands for.
    name: "batch",
    method: "POST",
    path: "/api/v1/jobs/:id/batch",
    allow: { JOB: "self_job", JOB_AGENT: "matched_job" },
  },
  {
    name: "heartbeat",
    method: "POST",
    path: "/api/v1/jobs/:id/heartbeat",
    allow: { JOB: "self_job", JOB_AGENT: "matched_job" },
  },
  {
    name: "file_list",
    method: "GET",
    path: "/api/v1/files",
    allow: { USER: "own_path" },
  },
  {
    name: "file_get",
    method: "GET",
    path: "/api/v1/files/*",
    allow: { USER: "own_path", JOB: "job_io" },
  },
  {
    name: "file_put",
    method: "PUT",
    path: "/api/v1/files/*",
    allow: { USER: "own_path", JOB: "job_output" },
  },
  {
    name: "file_delete",
    method: "DELETE",
    path: "/api/v1/files/*",
    allow: { USER: "own_path" },
  },
  {
    // Built agent and wrapper for startup scripts (src/site/artefact_store.ts).
    name: "artefact",
    method: "GET",
    path: "/api/v1/artefacts/*",
    allow: { JOB_AGENT: "any" },
  },
  {
    // Live output, forwarded by the agent (src/broker/live_log.ts).
    name: "log_append",
    method: "POST",
    path: "/api/v1/jobs/:id/log",
    allow: { JOB_AGENT: "matched_job" },
  },
  {
    name: "log",
    method: "GET",
    path: "/api/v1/jobs/:id/log",
    allow: { USER: "own_job" },
  },
  {
    // Prometheus scrapes (src/broker/broker_metrics.ts).
    name: "metrics",
    method: "GET",
    path: "/metrics",
    allow: { USER: "admin" },
  },
  {
    name: "sites",
    method: "GET",
    path: "/api/v1/sites",
    allow: { USER: "any", HOST: "any" },
  },
  {
    // A site's pilot factory (src/factory/): WAITING jobs its slots fit.
    name: "factory_demand",
    method: "POST",
    path: "/api/v1/factory/demand",
    allow: { HOST: "own_site" },
  },
  {
    // A fresh JOB_AGENT token for one pilot's startup script.
    name: "factory_pilot",
    method: "POST",
    path: "/api/v1/factory/pilot",
    allow: { HOST: "own_site" },
  },
  {
    name: "factory_report",
    method: "PUT",
    path: "/api/v1/factory/pilots",
    allow: { HOST: "own_site" },
  },
];

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

/** Role check: returns the object rule, or throws 403 `wrong_role`. */
export function authorize(route: Route, who: TokenIdentity): ObjectRule {
  const rule = route.allow[who.role];
  if (!rule) {
    throw forbidden(
      "wrong_role",
      `role ${who.role} may not call ${route.method} ${route.path}; allowed: ${
        Object.keys(route.allow).join(", ")
      }`,
    );
  }
  return rule;
}

/** The object a request acts on, as far as the rules need it. */
export interface ObjectContext {
  /** The job, for job endpoints. */
  job?: JobRecord;
  /** The LFN, for file endpoints. */
  lfn?: string;
  /** For `job_io`: the LFNs the token's job declared as inputs. */
  inputs?: readonly string[];
  /** For `job_io`/`job_output`: the owner of the token's job. */
  jobOwner?: string;
  /** For `own_site`: the site the request names. */
  site?: string;
}

/** Object check for `rule`; throws 403 `wrong_object` when refused. */
export function checkObject(
  rule: ObjectRule,
  who: TokenIdentity,
  obj: ObjectContext,
): void {
  if (allowed(rule, who, obj)) return;
  if (rule === "admin") {
    throw forbidden(
      "wrong_object",
      `${who.role} ${who.subject} is not an admin (needs a token issued with --admin)`,
    );
  }
  // A listing names a user, not a job (`ps --user other`).
  const what = obj.job
    ? obj.job.id === undefined
      ? `the jobs of user ${obj.job.owner}`
      : `job ${obj.job.id}`
    : obj.lfn ?? (obj.site !== undefined ? `site ${obj.site}` : "this object");
  throw forbidden(
    "wrong_object",
    `${who.role} ${who.subject}${
      who.jobId ? ` (job ${who.jobId})` : ""
    } may not act on ${what}`,
  );
}

function allowed(
  rule: ObjectRule,
  who: TokenIdentity,
  obj: ObjectContext,
): boolean {
  switch (rule) {
    case "any":
      return true;
    case "own_job":
      return who.admin || obj.job === undefined ||
        obj.job.owner === who.subject;
    case "self_job":
      return obj.job !== undefined && obj.job.id === who.jobId;
    case "matched_job":
      return obj.job !== undefined && obj.job.agent === who.fingerprint;
    case "own_path":
      return obj.lfn === undefined || who.admin ||
        isUserPath(obj.lfn, who.subject);
    case "job_output":
      return obj.lfn !== undefined && who.jobId !== undefined &&
        obj.jobOwner !== undefined &&
        obj.lfn.startsWith(jobOutputDir(obj.jobOwner, who.jobId));
    case "job_io":
      // A declared input counts only inside the owner's own tree: a JDL
      // naming someone else's file must not let the job read what its
      // owner could not.
      return obj.lfn !== undefined &&
        (((obj.inputs ?? []).includes(obj.lfn) &&
          obj.jobOwner !== undefined &&
          // The VO's /bin/ holds programs any job may stage.
          (isUserPath(obj.lfn, obj.jobOwner) || obj.lfn.startsWith("/bin/"))) ||
          allowed("job_output", who, obj));
    case "own_site":
      return obj.site !== undefined && obj.site === who.subject;
    case "admin":
      return who.admin;
  }
}

/** What each object rule means, in words (printed under the table). */
export const RULE_TEXT: Readonly<Record<ObjectRule, string>> = {
  any: "no object, or every object",
  own_job:
    "USER: only jobs they submitted; an admin USER (DN title=admin): every job",
  self_job:
    "JOB: only the job named in its token, and only while that job is active and the token is the one issued at match time",
  matched_job:
    "JOB_AGENT: only jobs matched with this very agent certificate (SHA-256 fingerprint)",
  own_path: "USER: only files under /<user>/; an admin USER: every file",
  job_output: "JOB: only files under /<owner>/jobs/<jobId>/",
  job_io:
    "JOB: its declared inputs that lie under /<owner>/ or the VO's /bin/, and its own outputs",
  admin: "USER: admin users only (DN title=admin)",
  own_site:
    "HOST: only the site named as its subject (`?site=` must equal the token's CN): a site's pilot factory",
};

/**
 * The table as markdown (for the README and `splitpilot authz`), followed
 * by what each rule means. `—` is refused with 403 `wrong_role`.
 */
export function formatAuthzTable(): string {
  const roles: Role[] = ["USER", "JOB_AGENT", "JOB", "HOST"];
  const lines = [
    `| endpoint | ${roles.join(" | ")} |`,
    `|---|${roles.map(() => "---").join("|")}|`,
  ];
  for (const r of AUTHZ_TABLE) {
    lines.push(
      `| \`${r.method} ${r.path}\` | ${
        roles.map((role) => r.allow[role] ?? "—").join(" | ")
      } |`,
    );
  }
  const used = new Set(AUTHZ_TABLE.flatMap((r) => Object.values(r.allow)));
  lines.push("");
  for (const [rule, text] of Object.entries(RULE_TEXT)) {
    if (used.has(rule as ObjectRule)) lines.push(`- \`${rule}\`: ${text}`);
  }
  lines.push(
    "- `—`: refused (403 `wrong_role`); a missing or invalid certificate is 401 before any rule applies",
  );
  return lines.join("\n");
}
