/**
 * Match classes: jobs that every site either admits or refuses together.
 *
 * A job's match class is its {@linkcode MatchKeys} and, when the keys do not
 * say everything (`residual`), the text of its `Requirements` plus the
 * values of the job's own keys those requirements read. Two jobs of one
 * class match exactly the same site maps, so the queue indexes classes
 * (a few hundred for a queue of 100,000 jobs from a few productions), and
 * `Requirements` is evaluated once per residual class per match, not once
 * per waiting job.
 *
 * @module
 */
import type { Expr } from "../jdl/ast.ts";
import { formatExpr } from "../jdl/format.ts";
import type { JobDescription, MatchKeys } from "../jdl/mod.ts";

/** Most own-key references followed when building a residual class key. */
const MAX_REFS = 64;

/**
 * The class key of a job: equal keys mean equal matching behaviour for
 * every site map. Stable across broker restarts (it is stored).
 *
 * @example
 * ```ts
 * import { matchKeys, parseJdl } from "../jdl/mod.ts";
 * import { matchClassKey } from "./match_class.ts";
 * const a = parseJdl('Executable = "/bin/a"; Arguments = "1"; TTL = 60;');
 * const b = parseJdl('Executable = "/bin/b"; Arguments = "2"; TTL = 60;');
 * matchClassKey(a, matchKeys(a)) === matchClassKey(b, matchKeys(b)); // true
 * ```
 */
export function matchClassKey(jd: JobDescription, keys: MatchKeys): string {
  const parts: unknown[] = [
    keys.cpuCores,
    keys.ttl,
    keys.memory,
    keys.disk,
    [...keys.sites].sort(),
    [...keys.ces].sort(),
    [...keys.packages].sort(),
  ];
  if (keys.residual && jd.requirements !== undefined) {
    parts.push(formatExpr(jd.requirements), ownReferences(jd));
  }
  if (jd.network !== undefined) parts.push(`network=${jd.network}`);
  return JSON.stringify(parts);
}

/**
 * `name=value` of every own key the requirements read, directly or through
 * other own keys, in first-reference order; a missing key is `name?`.
 */
function ownReferences(jd: JobDescription): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const pending: Expr[] = [jd.requirements!];
  while (pending.length > 0 && seen.size < MAX_REFS) {
    const e = pending.pop()!;
    switch (e.kind) {
      case "literal":
        break;
      case "list":
        pending.push(...[...e.items].reverse());
        break;
      case "unary":
        pending.push(e.operand);
        break;
      case "binary":
        pending.push(e.right, e.left);
        break;
      case "call":
        pending.push(...[...e.args].reverse());
        break;
      case "ref": {
        if (e.scope === "other") break;
        const name = e.name.toLowerCase();
        if (seen.has(name)) break;
        seen.add(name);
        // First match, as the evaluator resolves bare names.
        const attr = jd.attributes.find((a) => a.key.toLowerCase() === name);
        if (attr === undefined) {
          out.push(`${name}?`);
        } else {
          out.push(`${name}=${formatExpr(attr.value)}`);
          pending.push(attr.value);
        }
      }
    }
  }
  // Past the cap the key would be ambiguous: make it unique to this JDL.
  if (pending.length > 0) {
    out.push(...jd.attributes.map((a) => `${a.key}=${formatExpr(a.value)}`));
  }
  return out;
}
