/**
 * "Why is my job waiting": the first requirement of a waiting job that no
 * agent offering work lately met, in words.
 *
 * The job's needs are checked one at a time against every recent offer:
 * cores, TTL, memory, disk, site, CE, packages, then each `&&` part of
 * `Requirements`. The first need no agent met is the answer, e.g.
 * `other.GridPartitions: no agent in the last hour advertised it` or
 * `3 agents offered CPUCores ≤ 8, the job wants 16`. When some agent met
 * every need, the job waits its turn (fair share, quota, free cores).
 *
 * @module
 */
import type { Expr } from "../jdl/ast.ts";
import { formatExpr } from "../jdl/format.ts";
import {
  evaluate,
  type JobDescription,
  keysAdmit,
  matchKeys,
  type SiteMap,
} from "../jdl/mod.ts";
import { lookupSite, stringList } from "../jdl/_evaluator.ts";
import type { Offer } from "./recent_offers.ts";
import { networkAdmits, offeredNetworks } from "../jdl/payload_network.ts";

/** How far back offers count, ms. */
export const WHY_WINDOW_MS = 3600_000;

function agents(n: number): string {
  return `${n} agent${n === 1 ? "" : "s"}`;
}

function conjuncts(e: Expr): Expr[] {
  if (e.kind === "binary" && e.op === "&&") {
    return [...conjuncts(e.left), ...conjuncts(e.right)];
  }
  return [e];
}

function otherRefs(e: Expr, out: string[] = []): string[] {
  switch (e.kind) {
    case "ref":
      if (e.scope === "other" && !out.includes(e.name)) out.push(e.name);
      break;
    case "list":
      e.items.forEach((i) => otherRefs(i, out));
      break;
    case "unary":
      otherRefs(e.operand, out);
      break;
    case "binary":
      otherRefs(e.left, out);
      otherRefs(e.right, out);
      break;
    case "call":
      e.args.forEach((a) => otherRefs(a, out));
  }
  return out;
}

function shown(v: unknown): string {
  if (Array.isArray(v)) return `{${v.map((x) => JSON.stringify(x)).join(",")}}`;
  return JSON.stringify(v);
}

/**
 * One line saying why `jd` (a waiting job) has not been matched, given
 * the offers of the last hour.
 *
 * @example
 * ```ts
 * import { parseJdl } from "../jdl/mod.ts";
 * import { explainWait } from "./why.ts";
 * const jd = parseJdl('Executable = "/bin/true"; CPUCores = 16;');
 * explainWait(jd, [{ subject: "a", at: 0, site: { cpuCores: 8, ttl: 9999 } }]);
 * // "1 agent offered CPUCores ≤ 8, the job wants 16"
 * ```
 */
export function explainWait(jd: JobDescription, offers: Offer[]): string {
  if (offers.length === 0) {
    return "no agent asked for work in the last hour";
  }
  const keys = matchKeys(jd);
  const sites = offers.map((o) => o.site);
  const numeric: [string, string, number][] = [
    ["cpucores", "CPUCores", keys.cpuCores],
    ["ttl", "TTL", keys.ttl],
    ["memory", "Memory", keys.memory],
    ["disk", "Disk", keys.disk],
  ];
  for (const [key, label, need] of numeric) {
    if (need <= 0) continue;
    const have = sites.map((s) => lookupSite(s, key)).filter((v) =>
      typeof v === "number"
    ) as number[];
    if (have.some((v) => Math.ceil(v) >= need)) continue;
    if (have.length === 0) {
      return `other.${label}: no agent in the last hour advertised it, the job wants ${need}`;
    }
    return `${agents(have.length)} offered ${label} ≤ ${
      Math.max(...have)
    }, the job wants ${need}`;
  }
  const named: [string, string, string[]][] = [
    ["site", "Site", keys.sites],
    ["ce", "CE", keys.ces],
  ];
  for (const [key, label, allowed] of named) {
    if (allowed.length === 0) continue;
    const have = sites.map((s) => lookupSite(s, key)).filter((v) =>
      typeof v === "string"
    ) as string[];
    if (have.some((v) => allowed.includes(v.toLowerCase()))) continue;
    return `other.${label}: the job wants ${allowed.join(" or ")}; ${
      agents(offers.length)
    } in the last hour offered ${[...new Set(have)].join(", ") || "none"}`;
  }
  for (const p of keys.packages) {
    const ok = sites.some((s) =>
      (stringList(lookupSite(s, "packages")) ?? []).some((x) =>
        typeof x === "string" && x.toLowerCase() === p
      )
    );
    if (!ok) {
      return `package ${p}: none of ${
        agents(offers.length)
      } in the last hour had it`;
    }
  }
  if (!sites.some((s) => networkAdmits(jd.network, s as SiteMap))) {
    const seen = [
      ...new Set(sites.map((s) => offeredNetworks(s as SiteMap).join("+"))),
    ];
    return `Network = "${jd.network}": none of ${
      agents(offers.length)
    } in the last hour allows it (their sites offer payload network ${
      seen.join(" | ")
    }; see agent --payload-network)`;
  }
  if (jd.requirements !== undefined) {
    for (const c of conjuncts(jd.requirements)) {
      if (sites.some((s) => evaluate(c, s, jd) === true)) continue;
      const refs = otherRefs(c);
      const missing = refs.find((r) =>
        sites.every((s) => lookupSite(s, r.toLowerCase()) === undefined)
      );
      if (missing !== undefined) {
        return `other.${missing}: no agent in the last hour advertised it (Requirements: ${
          formatExpr(c)
        })`;
      }
      const seen = refs.map((r) => {
        const vals = [
          ...new Set(sites.map((s) => shown(lookupSite(s, r.toLowerCase())))),
        ];
        return `${r} = ${vals.slice(0, 5).join(" | ")}`;
      }).join("; ");
      return `Requirements part ${formatExpr(c)}: none of ${
        agents(offers.length)
      } in the last hour met it (${seen})`;
    }
  }
  const fit = offers.filter((o) => keysAdmit(keys, o.site as SiteMap));
  if (fit.length === 0) {
    return `no single agent in the last hour met all of the job's needs at once`;
  }
  return `${
    agents(fit.length)
  } in the last hour could run it; it waits its turn (fair share, quota or busy slots)`;
}
