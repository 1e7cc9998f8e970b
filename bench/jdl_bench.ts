/**
 * Micro-benchmarks of the JDL engine on one production JDL:
 * `deno bench --allow-read bench/jdl_bench.ts`.
 *
 * @module
 */
import {
  evaluate,
  formatJdl,
  matchKeys,
  parseJdl,
  requirementsHold,
  type SiteMap,
} from "../src/jdl/mod.ts";

/** A 30-line production JDL (a file, so it is not one more copy in code). */
const JDL = await Deno.readTextFile(
  new URL("./production.jdl", import.meta.url),
);

const jd = parseJdl(JDL);
const site: SiteMap = {
  ce: "ALICE::CERN::Pilot",
  site: "CERN",
  ttl: 86400,
  cpuCores: 8,
  memory: 2 ** 35,
  disk: 2 ** 36,
  price: 1,
  packages: [
    "VO_ALICE@ROOT::v6",
    "VO_ALICE@AliPhysics::vAN-20240101-1",
    "VO_ALICE@O2::daily-20240101",
  ],
};
if (!requirementsHold(jd, site)) throw new Error("benchmark site must match");

Deno.bench("parseJdl: 30-line production JDL", () => {
  parseJdl(JDL);
});
Deno.bench("formatJdl: 30-line production JDL", () => {
  formatJdl(jd);
});
Deno.bench("evaluate: production Requirements", () => {
  evaluate(jd.requirements!, site, jd);
});
Deno.bench("requirementsHold: production Requirements", () => {
  requirementsHold(jd, site);
});
Deno.bench("matchKeys: production JDL", () => {
  matchKeys(jd);
});
