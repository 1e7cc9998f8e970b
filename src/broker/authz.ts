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
import { forbidden } from "./errors.ts";
import { AUTHZ_TABLE, type ObjectRule, type Route } from "./routes.ts";
import { isUserPath, jobOutputDir } from "./lfn.ts";
import type { JobRecord } from "./store.ts";

export {
  AUTHZ_TABLE,
  findRoute,
  type ObjectRule,
  type Route,
  type RouteMatch,
} from "./routes.ts";

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
