import type { Expr, JdlAttribute, Value } from "./ast.ts";
import { regexpTest } from "./_regexp.ts";

/** Evaluation depth past which the result is UNDEFINED instead of a stack overflow. */
const MAX_EVAL_DEPTH = 256;
/** Longest chain of bare-name references followed before giving up. */
const MAX_REF_CHAIN = 32;
/** How deep site-map arrays are converted into list values. */
const MAX_SITE_NESTING = 8;

const IN_PROGRESS = Symbol("in progress");

/** Where names resolve during one evaluation. */
export interface Scope {
  /** The site map (`other.X`). */
  other: unknown;
  /** The job's own statements (bare `X`). */
  attributes?: readonly JdlAttribute[];
}

interface Context extends Scope {
  /** Results of bare-name look-ups, so shared references cost once. */
  memo?: Map<string, Value | typeof IN_PROGRESS>;
  chain: number;
}

/**
 * Evaluates with ClassAd-like three-valued logic; never throws. Type
 * mismatches, missing names, division by zero and runaway depth give
 * `undefined`.
 */
export function evaluateIn(expr: Expr, scope: Scope): Value {
  return ev(expr, {
    other: scope.other,
    attributes: scope.attributes,
    chain: 0,
  }, 0);
}

function ev(e: Expr, ctx: Context, depth: number): Value {
  if (depth > MAX_EVAL_DEPTH) return undefined;
  switch (e.kind) {
    case "literal":
      return e.value;
    case "list": {
      const out: Value[] = [];
      for (const item of e.items) out.push(ev(item, ctx, depth + 1));
      return out;
    }
    case "ref":
      return e.scope === "other"
        ? fromJs(lookupSite(ctx.other, e.name.toLowerCase()), 0)
        : lookupSelf(e.name, ctx, depth);
    case "unary": {
      const v = ev(e.operand, ctx, depth + 1);
      if (e.op === "!") return typeof v === "boolean" ? !v : undefined;
      return typeof v === "number" ? -v || 0 : undefined;
    }
    case "binary":
      return binary(e.op, e.left, e.right, ctx, depth + 1);
    case "call":
      return call(e, ctx, depth + 1);
  }
  return undefined;
}

function binary(
  op: string,
  left: Expr,
  right: Expr,
  ctx: Context,
  depth: number,
): Value {
  if (op === "&&") {
    const l = ev(left, ctx, depth);
    if (l === false) return false;
    const r = ev(right, ctx, depth);
    if (r === false) return false;
    return l === true && r === true ? true : undefined;
  }
  if (op === "||") {
    const l = ev(left, ctx, depth);
    if (l === true) return true;
    const r = ev(right, ctx, depth);
    if (r === true) return true;
    return l === false && r === false ? false : undefined;
  }
  const l = ev(left, ctx, depth);
  const r = ev(right, ctx, depth);
  switch (op) {
    case "==":
      return equal(l, r);
    case "!=": {
      const eq = equal(l, r);
      return eq === undefined ? undefined : !eq;
    }
    case "<":
    case "<=":
    case ">":
    case ">=":
      return order(op, l, r);
  }
  if (typeof l !== "number" || typeof r !== "number") return undefined;
  let v: number;
  switch (op) {
    case "+":
      v = l + r;
      break;
    case "-":
      v = l - r;
      break;
    case "*":
      v = l * r;
      break;
    default:
      v = l / r;
  }
  return Number.isFinite(v) ? v || 0 : undefined;
}

/**
 * ClassAd `==`: strings compare without regard to case, numbers and
 * booleans by value; anything else (including lists) is UNDEFINED.
 */
export function equal(a: Value, b: Value): boolean | undefined {
  if (typeof a === "string" && typeof b === "string") {
    return a === b || a.toLowerCase() === b.toLowerCase();
  }
  if (
    (typeof a === "number" && typeof b === "number") ||
    (typeof a === "boolean" && typeof b === "boolean")
  ) {
    return a === b;
  }
  return undefined;
}

function order(op: string, a: Value, b: Value): boolean | undefined {
  let x: number | string;
  let y: number | string;
  if (typeof a === "number" && typeof b === "number") {
    x = a;
    y = b;
  } else if (typeof a === "string" && typeof b === "string") {
    x = a.toLowerCase();
    y = b.toLowerCase();
  } else {
    return undefined;
  }
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

function call(e: Expr & { kind: "call" }, ctx: Context, depth: number): Value {
  const args = e.args.map((a) => ev(a, ctx, depth));
  switch (e.name) {
    case "isUndefined":
      return args[0] === undefined;
    case "member":
      return member(args[0], args[1]);
    case "regexp": {
      const [pattern, input, options = ""] = args;
      if (
        typeof pattern !== "string" || typeof input !== "string" ||
        typeof options !== "string"
      ) {
        return undefined;
      }
      return regexpTest(pattern, input, options);
    }
  }
}

/**
 * `member(list, x)`: true when some item equals `x` (see {@linkcode equal}).
 * A string "list" is split at commas and whitespace; arguments in
 * ClassAd's `member(x, list)` order are accepted too.
 */
export function member(list: Value, x: Value): boolean | undefined {
  if (!Array.isArray(list) && Array.isArray(x)) [list, x] = [x, list];
  if (list === undefined || x === undefined) return undefined;
  const items = stringList(list);
  if (items === undefined) return undefined;
  for (const item of items) if (equal(item, x) === true) return true;
  return false;
}

/** A list value, or a string split at commas and whitespace; else `undefined`. */
export function stringList(v: unknown): readonly Value[] | undefined {
  if (Array.isArray(v)) return v;
  if (typeof v === "string") return v.split(/[\s,]+/).filter((s) => s !== "");
  return undefined;
}

function lookupSelf(name: string, ctx: Context, depth: number): Value {
  const attrs = ctx.attributes;
  if (attrs === undefined) return undefined;
  const lower = name.toLowerCase();
  const memo = ctx.memo ??= new Map();
  const known = memo.get(lower);
  if (known === IN_PROGRESS) return undefined; // a cycle
  if (known !== undefined || memo.has(lower)) return known;
  const attr = attrs.find((a) => a.key.toLowerCase() === lower);
  if (attr === undefined) return undefined;
  if (ctx.chain >= MAX_REF_CHAIN) return undefined;
  memo.set(lower, IN_PROGRESS);
  ctx.chain++;
  const v = ev(attr.value, ctx, depth + 1);
  ctx.chain--;
  memo.set(lower, v);
  return v;
}

/** Site-map keys in the spelling {@linkcode SiteMap} documents, by lower-case name. */
const CANONICAL: Record<string, string> = {
  ce: "ce",
  site: "site",
  ttl: "ttl",
  cpucores: "cpuCores",
  memory: "memory",
  disk: "disk",
  packages: "packages",
  containers: "containers",
};

/** Looks `lower` up among the own keys of `site`, ignoring case. */
export function lookupSite(site: unknown, lower: string): unknown {
  if (site === null || typeof site !== "object") return undefined;
  const rec = site as Record<string, unknown>;
  const canonical = Object.hasOwn(CANONICAL, lower) ? CANONICAL[lower] : lower;
  if (Object.hasOwn(rec, canonical)) return rec[canonical];
  for (const k of Object.keys(rec)) {
    if (k.length === lower.length && k.toLowerCase() === lower) return rec[k];
  }
  return undefined;
}

/** Converts a site-map value into a {@linkcode Value}; other types are UNDEFINED. */
export function fromJs(v: unknown, nesting: number): Value {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      return Number.isFinite(v) ? v : undefined;
  }
  if (!Array.isArray(v) || nesting >= MAX_SITE_NESTING) return undefined;
  // Plain arrays of scalars are used as they are, to spare a copy per look-up.
  let plain = true;
  for (const item of v) {
    const t = typeof item;
    if (
      !(t === "string" || t === "boolean" ||
        (t === "number" && Number.isFinite(item)))
    ) {
      plain = false;
      break;
    }
  }
  return plain ? v : v.map((item) => fromJs(item, nesting + 1));
}
