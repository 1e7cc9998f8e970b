/**
 * Database-friendly matching keys, computed once at submission.
 *
 * @module
 */
import type { Expr } from "./ast.ts";
import type { JobDescription } from "./job_description.ts";
import type { SiteMap } from "./evaluate.ts";
import { lookupSite, stringList } from "./_evaluator.ts";

/**
 * What a job needs from a site, in a form a database can index. The
 * meaning is exactly {@linkcode keysAdmit}. Strings are lower-cased because
 * JDL string comparison ignores case: compare them with the site's values
 * lower-cased.
 */
export interface MatchKeys {
  /** Fewest cores: `CPUCores`, raised by `other.CPUCores >= N`. */
  cpuCores: number;
  /** Fewest seconds left: `TTL`, raised by `other.TTL > N` or `>= N`. */
  ttl: number;
  /** Fewest bytes of memory (`MemorySize`, `other.Memory >= N`); 0 = any. */
  memory: number;
  /** Fewest bytes of disk (`WorkDirectorySize`, `other.Disk >= N`); 0 = any. */
  disk: number;
  /** The site must be one of these (`other.Site == "X"`); `[]` = any. */
  sites: string[];
  /** The CE must be one of these (`other.CE == "X"`); `[]` = any. */
  ces: string[];
  /** Every one must be in the site's packages (`Packages`, `member(other.Packages, "P")`). */
  packages: string[];
  /** `Container`, passed through for the broker; not checked by {@linkcode keysAdmit}. */
  container?: string;
  /**
   * Whether `Requirements` holds more than the constraints above, so a
   * site admitted by the keys must still pass {@linkcode requirementsHold}.
   */
  residual: boolean;
}

/**
 * Extracts {@linkcode MatchKeys} from the job's own fields and the top-level
 * `&&` conjuncts of `Requirements` it understands:
 * `other.CE == "X"`, `other.Site == "X"`, disjunctions of those on one
 * attribute, `member(other.Packages, "P")`, and `other.TTL`,
 * `other.CPUCores`, `other.Memory`, `other.Disk` compared with `>` or `>=`
 * to a number (either side). Anything else sets `residual`.
 *
 * Guarantee (tested on random sites): whenever the requirements hold and
 * the job's own needs fit, {@linkcode keysAdmit} admits the site; and when
 * `residual` is false, a site admitted by the keys satisfies the
 * requirements (for whole-number site values).
 */
export function matchKeys(jd: JobDescription): MatchKeys {
  const x = new Extraction(jd);
  if (jd.requirements !== undefined) {
    for (const c of conjuncts(jd.requirements)) {
      if (!x.conjunct(c)) x.residual = true;
    }
  }
  // No key holds the site's payload networks: requirementsHold checks it.
  if (jd.network !== undefined) x.residual = true;
  const keys: MatchKeys = {
    cpuCores: x.cpuCores,
    ttl: x.ttl,
    memory: x.memory,
    disk: x.disk,
    sites: [...(x.sites ?? [])],
    ces: [...(x.ces ?? [])],
    packages: [...x.packages],
    residual: x.residual,
  };
  if (jd.container !== undefined) keys.container = jd.container;
  return keys;
}

/**
 * The meaning of {@linkcode MatchKeys}, for tests and for brokers matching
 * in memory. Site numbers are rounded up before comparing, which never
 * turns away a site the requirements accept. Site keys are looked up
 * ignoring case, as `other.X` does.
 */
export function keysAdmit(keys: MatchKeys, site: SiteMap): boolean {
  return atLeast(lookupSite(site, "cpucores"), keys.cpuCores) &&
    atLeast(lookupSite(site, "ttl"), keys.ttl) &&
    atLeast(lookupSite(site, "memory"), keys.memory) &&
    atLeast(lookupSite(site, "disk"), keys.disk) &&
    oneOf(lookupSite(site, "ce"), keys.ces) &&
    oneOf(lookupSite(site, "site"), keys.sites) &&
    hasAll(lookupSite(site, "packages"), keys.packages);
}

function atLeast(v: unknown, min: number): boolean {
  if (min <= 0) return true;
  return typeof v === "number" && Number.isFinite(v) && Math.ceil(v) >= min;
}

function oneOf(v: unknown, allowed: string[]): boolean {
  if (allowed.length === 0) return true;
  return typeof v === "string" && allowed.includes(v.toLowerCase());
}

function hasAll(v: unknown, needed: string[]): boolean {
  if (needed.length === 0) return true;
  const list = stringList(v);
  if (list === undefined) return false;
  const have = new Set<string>();
  for (const item of list) {
    if (typeof item === "string") have.add(item.toLowerCase());
  }
  return needed.every((p) => have.has(p));
}

/** The operands of the top-level `&&` chain, left to right. */
function conjuncts(e: Expr): Expr[] {
  const out: Expr[] = [];
  const stack = [e];
  while (stack.length > 0) {
    const c = stack.pop()!;
    if (c.kind === "binary" && c.op === "&&") stack.push(c.right, c.left);
    else out.push(c);
  }
  return out;
}

function otherName(e: Expr): string | undefined {
  return e.kind === "ref" && e.scope === "other"
    ? e.name.toLowerCase()
    : undefined;
}

function stringLiteral(e: Expr): string | undefined {
  return e.kind === "literal" && typeof e.value === "string"
    ? e.value
    : undefined;
}

const FLIP: Record<string, string> = {
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

class Extraction {
  cpuCores: number;
  ttl: number;
  memory: number;
  disk: number;
  sites: Set<string> | undefined;
  ces: Set<string> | undefined;
  packages: Set<string>;
  residual = false;

  constructor(jd: JobDescription) {
    this.cpuCores = jd.cpuCores;
    this.ttl = jd.ttl;
    this.memory = jd.memorySize ?? 0;
    this.disk = jd.workDirectorySize ?? 0;
    this.packages = new Set(jd.packages.map((p) => p.toLowerCase()));
  }

  /** Records what `c` demands; false when it is not understood. */
  conjunct(c: Expr): boolean {
    if (c.kind === "literal") return c.value === true;
    if (c.kind === "call") {
      if (c.name !== "member" || c.args.length !== 2) return false;
      const pkg = stringLiteral(c.args[1]);
      if (otherName(c.args[0]) !== "packages" || pkg === undefined) {
        return false;
      }
      this.packages.add(pkg.toLowerCase());
      return true;
    }
    if (c.kind !== "binary") return false;
    if (c.op === "==" || c.op === "||") return this.choice(c);
    return this.bound(c.op, c.left, c.right);
  }

  /** `other.CE == "A"` or `other.CE == "A" || other.CE == "B" || …` */
  choice(c: Expr): boolean {
    let field: string | undefined;
    const values = new Set<string>();
    const stack = [c];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (d.kind !== "binary") return false;
      if (d.op === "||") {
        stack.push(d.right, d.left);
        continue;
      }
      if (d.op !== "==") return false;
      let name = otherName(d.left);
      let value = stringLiteral(d.right);
      if (name === undefined) {
        name = otherName(d.right);
        value = stringLiteral(d.left);
      }
      if ((name !== "ce" && name !== "site") || value === undefined) {
        return false;
      }
      if (field !== undefined && field !== name) return false;
      field = name;
      values.add(value.toLowerCase());
    }
    const current = field === "ce" ? this.ces : this.sites;
    let next = values;
    if (current !== undefined) {
      next = new Set([...current].filter((v) => values.has(v)));
      // No site can match: keep a non-empty list and let evaluation say no.
      if (next.size === 0) return false;
    }
    if (field === "ce") this.ces = next;
    else this.sites = next;
    return true;
  }

  /** `other.TTL > 7200`, `4 <= other.CPUCores`, … */
  bound(op: string, left: Expr, right: Expr): boolean {
    let name = otherName(left);
    let limit: Expr = right;
    if (name === undefined) {
      name = otherName(right);
      limit = left;
      op = FLIP[op] ?? "";
    }
    if (
      (op !== ">" && op !== ">=") || limit.kind !== "literal" ||
      typeof limit.value !== "number"
    ) {
      return false;
    }
    // Whole-number site values: `> N` is `>= floor(N) + 1`.
    const min = op === ">="
      ? Math.ceil(limit.value)
      : Math.floor(limit.value) + 1;
    if (!Number.isSafeInteger(min)) return false;
    switch (name) {
      case "ttl":
        this.ttl = Math.max(this.ttl, min);
        return true;
      case "cpucores":
        this.cpuCores = Math.max(this.cpuCores, min);
        return true;
      case "memory":
        if (min <= 0) return false;
        this.memory = Math.max(this.memory, min);
        return true;
      case "disk":
        if (min <= 0) return false;
        this.disk = Math.max(this.disk, min);
        return true;
    }
    return false;
  }
}
