/**
 * ALICE-style JDL (ClassAd) support: parse and validate job descriptions,
 * print them canonically, evaluate `Requirements` against a site, and
 * precompute keys a database can match on.
 *
 * @example
 * ```ts
 * import { matchKeys, parseJdl, requirementsHold } from "./mod.ts";
 * const jd = parseJdl(`
 *   Executable = "/bin/sh";
 *   Arguments = "-c 'echo hello'";
 *   Requirements = other.TTL > 7200 && member(other.Packages, "VO_ALICE@ROOT::v6");
 * `);
 * requirementsHold(jd, { ttl: 9000, packages: ["VO_ALICE@ROOT::v6"] }); // true
 * matchKeys(jd).ttl; // 7201
 * ```
 *
 * @module
 */
export type {
  BinaryOp,
  Expr,
  FunctionName,
  JdlAttribute,
  UnaryOp,
  Value,
} from "./ast.ts";
export { JdlError } from "./error.ts";
export { evaluate, requirementsHold, type SiteMap } from "./evaluate.ts";
export { formatJdl } from "./format.ts";
export type {
  JobDescription,
  OutputArchive,
  OutputEntry,
} from "./job_description.ts";
export { applyArguments, MAX_ARGUMENTS } from "./arguments.ts";
export {
  fillPatterns,
  MAX_SUBJOBS,
  plan,
  type SplitSpec,
  subjobAttributes,
  type SubjobInput,
} from "./split.ts";
export { keysAdmit, type MatchKeys, matchKeys } from "./match_keys.ts";
export {
  DEFAULT_TTL,
  type JdlWarning,
  parseJdl,
  type ParseOptions,
  valueLocation,
} from "./parse.ts";
export {
  networkAdmits,
  offeredNetworks,
  parsePayloadNetwork,
  PAYLOAD_NETWORKS,
  type PayloadNetwork,
} from "./payload_network.ts";
