/**
 * Evaluation of JDL expressions against a site's map.
 *
 * Semantics follow ClassAd's three-valued logic, with `undefined` standing
 * for UNDEFINED:
 * - `other.X` looks `X` up in the site map ignoring case; a missing key is
 *   `undefined`. A bare `X` is another key of the same JDL (`undefined`
 *   without a JDL, for a missing key, in a reference cycle, or past 32
 *   chained references).
 * - A comparison or arithmetic with an `undefined` operand, or with operands
 *   of different types (ClassAd's ERROR), is `undefined`; so is division by
 *   zero. Strings compare ignoring case. Nothing ever throws.
 * - `false && x` is `false` and `true || x` is `true` whatever `x` is;
 *   otherwise `&&`, `||` and `!` give `undefined` unless all operands are
 *   booleans.
 * - `member(list, x)`: true when an item equals `x`; a string list is split
 *   at commas and whitespace, and ClassAd's `member(x, list)` order works
 *   too. `isUndefined(x)`. `regexp(pattern, s[, "i"])`: whether the pattern
 *   matches somewhere in `s`, run by a linear-time matcher (user patterns
 *   cannot stall the broker) that knows literals, `.`, classes, `\d\w\s`,
 *   anchors, groups, `|` and `* + ? {m,n}`, but no back-references;
 *   a pattern it cannot read gives `undefined`.
 *
 * @module
 */
import { networkAdmits } from "./payload_network.ts";
import type { Expr, Value } from "./ast.ts";
import type { JobDescription } from "./job_description.ts";
import { evaluateIn } from "./_evaluator.ts";

/**
 * What a pilot offers, as `other.X` sees it. Keys are looked up ignoring
 * case, so `other.CPUCores` finds `cpuCores`. Numbers are expected to be
 * whole (seconds, cores, bytes).
 */
export interface SiteMap {
  /** Computing element name, e.g. `"ALICE::CERN::Pilot"`. */
  ce?: string;
  /** Site name, e.g. `"CERN"`. */
  site?: string;
  /** Seconds the slot has left. */
  ttl?: number;
  /** Cores of the slot. */
  cpuCores?: number;
  /** Memory of the slot in bytes. */
  memory?: number;
  /** Work-directory space of the slot in bytes. */
  disk?: number;
  /** Software packages available. */
  packages?: string[];
  /** Container runtimes or images available. */
  containers?: string[];
  /** Payload networks the site allows (`none`, `host`); see `Network`. */
  payloadNetworks?: string[];
  /** Anything else `other.X` may ask for. */
  [key: string]: unknown;
}

/**
 * Evaluates `expr`: `other.X` against `other`, bare names against the
 * attributes of `self`.
 *
 * @example
 * ```ts
 * import { evaluate, parseJdl } from "./mod.ts";
 * const jd = parseJdl('Executable = "/bin/true"; Requirements = other.TTL > 100;');
 * evaluate(jd.requirements!, { ttl: 200 }); // true
 * evaluate(jd.requirements!, {}); // undefined
 * ```
 */
export function evaluate(
  expr: Expr,
  other: SiteMap,
  self?: JobDescription,
): Value {
  return evaluateIn(expr, { other, attributes: self?.attributes });
}

/**
 * Whether the job's `Requirements` evaluate to `true` for this site (a
 * job without `Requirements` always qualifies; `undefined` does not).
 * Resource fields such as `TTL` or `CPUCores` are not checked here: see
 * {@linkcode keysAdmit}.
 */
export function requirementsHold(jd: JobDescription, other: SiteMap): boolean {
  // `Network` is a requirement too: the keys mark such jobs residual.
  if (!networkAdmits(jd.network, other)) return false;
  if (jd.requirements === undefined) return true;
  return evaluateIn(jd.requirements, { other, attributes: jd.attributes }) ===
    true;
}
