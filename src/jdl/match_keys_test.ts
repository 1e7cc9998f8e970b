import { assert, assertEquals, assertGreater } from "@std/assert";
import {
  type JobDescription,
  keysAdmit,
  matchKeys,
  parseJdl,
  requirementsHold,
  type SiteMap,
} from "./mod.ts";
import { Random, seedFromEnv } from "../../tests/_random.ts";

function keysOf(requirements: string, extra = "") {
  return matchKeys(
    parseJdl(`Executable = "/x"; ${extra} Requirements = ${requirements};`),
  );
}

Deno.test("matchKeys() copies the job's own needs", () => {
  const keys = matchKeys(parseJdl(`
    Executable = "/x"; TTL = 7200; CPUCores = 4; MemorySize = "2GB";
    WorkDirectorySize = 1000; Packages = {"VO_ALICE@ROOT::V6", "vo_alice@root::v6"};
    Container = "el9";
  `));
  assertEquals(keys, {
    cpuCores: 4,
    ttl: 7200,
    memory: 2 * 2 ** 30,
    disk: 1000 * 2 ** 20,
    sites: [],
    ces: [],
    packages: ["vo_alice@root::v6"],
    container: "el9",
    residual: false,
  });
  const bare = matchKeys(parseJdl('Executable = "/x";'));
  assertEquals(bare, {
    cpuCores: 1,
    ttl: 3600,
    memory: 0,
    disk: 0,
    sites: [],
    ces: [],
    packages: [],
    residual: false,
  });
});

Deno.test("matchKeys() extracts the conjuncts it understands", () => {
  const keys = keysOf(
    '(other.CE == "ALICE::CERN::Pilot" || "ALICE::GSI::Pilot" == other.ce) && ' +
      'other.Site == "CERN" && member(other.Packages, "VO_ALICE@AliPhysics::vAN-1") && ' +
      "other.TTL > 7200 && 4 <= other.CPUCores && other.Memory >= 8e9 && " +
      "1000 < other.Disk && true",
  );
  assertEquals(keys, {
    cpuCores: 4,
    ttl: 7201,
    memory: 8e9,
    disk: 1001,
    sites: ["cern"],
    ces: ["alice::cern::pilot", "alice::gsi::pilot"],
    packages: ["vo_alice@aliphysics::van-1"],
    residual: false,
  });
});

Deno.test("matchKeys() keeps the strongest bound and intersects choices", () => {
  const keys = keysOf(
    "other.TTL >= 100 && other.TTL > 9000.5 && other.TTL >= 8000 && " +
      'other.CE == "A" || other.CE == "B"',
  );
  // `||` binds looser than `&&`: the whole thing is one disjunction.
  assertEquals(keys.residual, true);
  assertEquals(keys.ttl, 3600);
  const both = keysOf(
    'other.TTL >= 100 && other.TTL > 9000.5 && (other.CE == "A" || other.CE == "B") && other.CE == "b"',
  );
  assertEquals([both.ttl, both.ces, both.residual], [9001, ["b"], false]);
  const none = keysOf('other.CE == "A" && other.CE == "B"');
  assertEquals([none.ces, none.residual], [["a"], true]);
});

Deno.test("matchKeys() marks anything else as residual", () => {
  const residual = [
    'other.CE != "A"',
    '!(other.CE == "A")',
    'other.CE == "A" || other.Site == "B"',
    "other.TTL < 100000",
    "other.TTL > other.CPUCores",
    "other.TTL > TTL",
    'other.TTL > "100"',
    "other.Memory >= 0",
    "other.Disk > -1",
    "other.Price <= 1",
    'member("P", other.Packages)',
    "member(other.Packages, P)",
    'member(other.CE, "x")',
    "isUndefined(other.Disk)",
    "false",
    "1",
    '"other.CE"',
    "other.TTL > 1e300",
    'other.CE == "A" || true',
  ];
  for (const r of residual) assertEquals(keysOf(r).residual, true, r);
  for (const r of ["true", "other.TTL > 5", 'other.SITE == "x"']) {
    assertEquals(keysOf(r).residual, false, r);
  }
});

Deno.test("keysAdmit() applies every key", () => {
  const keys = keysOf(
    'other.CE == "ALICE::CERN::Pilot" && member(other.Packages, "P") && other.Site == "CERN"',
    "TTL = 100; CPUCores = 2; MemorySize = 1; WorkDirectorySize = 1;",
  );
  const ok: SiteMap = {
    CE: "alice::cern::pilot",
    site: "Cern",
    ttl: 100,
    CPUCores: 2,
    memory: 2 ** 20,
    disk: 2 ** 20,
    packages: "Q, p" as unknown as string[],
  };
  assert(keysAdmit(keys, ok));
  for (
    const [k, v] of [
      ["CE", "other"],
      ["site", undefined],
      ["ttl", 99],
      ["CPUCores", 1],
      ["memory", 2 ** 20 - 1],
      ["disk", "big"],
      ["packages", ["Q"]],
    ] as const
  ) {
    assert(!keysAdmit(keys, { ...ok, [k]: v }), `${k} = ${v}`);
  }
});

// ---- Property: the keys never turn away a site the job accepts. ----

const CES = ["ALICE::CERN::Pilot", "ALICE::GSI::Pilot", "ALICE::FZK::Pilot"];
const SITES = ["CERN", "GSI", "FZK"];
const PKGS = [
  "VO_ALICE@ROOT::v6",
  "VO_ALICE@AliPhysics::vAN-1",
  "VO_ALICE@O2::1",
];

function caseVariant(r: Random, s: string): string {
  return r.chance(0.3)
    ? [...s].map((c) => (r.chance(0.5) ? c.toUpperCase() : c.toLowerCase()))
      .join("")
    : s;
}

function numberLiteral(r: Random, scale: number): string {
  const n = r.pick([0, -1, 1, 0.5, 2.5]) * scale + r.int(3) - 1;
  return r.chance(0.2) ? `${n}.5` : String(n);
}

function atom(r: Random, depth: number): string {
  const field = r.pick(["TTL", "CPUCores", "Memory", "Disk"]);
  const scale: number =
    ({ TTL: 5000, CPUCores: 4, Memory: 4000, Disk: 4000 } as Record<
      string,
      number
    >)[field];
  switch (r.int(14)) {
    case 0:
      return `other.${caseVariant(r, "CE")} == "${
        caseVariant(r, r.pick(CES))
      }"`;
    case 1:
      return `"${r.pick(SITES)}" == other.Site`;
    case 2: {
      const attr = r.chance(0.8) ? "CE" : "Site";
      const pool = attr === "CE" ? CES : SITES;
      const n = 1 + r.int(3);
      const parts = Array.from(
        { length: n },
        () =>
          `other.${r.chance(0.9) ? attr : "Site"} == "${
            caseVariant(r, r.pick(pool))
          }"`,
      );
      return `(${parts.join(" || ")})`;
    }
    case 3:
      return `member(other.Packages, "${caseVariant(r, r.pick(PKGS))}")`;
    case 4:
      return `member("${r.pick(PKGS)}", other.Packages)`;
    case 5:
    case 6:
    case 7: {
      const op = r.pick([">", ">=", "<", "<=", "==", "!="]);
      const lit = numberLiteral(r, scale);
      return r.chance(0.5)
        ? `other.${field} ${op} ${lit}`
        : `${lit} ${op} other.${field}`;
    }
    case 8:
      return r.pick([
        "true",
        "false",
        "isUndefined(other.Disk)",
        'other.Custom == "x"',
      ]);
    case 9:
      return depth > 2 ? "true" : `!(${atom(r, depth + 1)})`;
    case 10:
      return depth > 2
        ? "false"
        : `(${atom(r, depth + 1)} || ${atom(r, depth + 1)})`;
    case 11:
      return depth > 2
        ? "true"
        : `(${atom(r, depth + 1)} && ${atom(r, depth + 1)})`;
    case 12:
      return `other.TTL > TTL`;
    default:
      return `other.${field} >= ${numberLiteral(r, scale)}`;
  }
}

function randomJob(r: Random): JobDescription {
  const lines = ['Executable = "/x";'];
  if (r.chance(0.5)) lines.push(`TTL = ${1 + r.int(9000)};`);
  if (r.chance(0.5)) lines.push(`CPUCores = ${1 + r.int(8)};`);
  if (r.chance(0.3)) lines.push(`MemorySize = "${1 + r.int(4000)}B";`);
  if (r.chance(0.3)) lines.push(`WorkDirectorySize = "${1 + r.int(4000)}B";`);
  if (r.chance(0.3)) {
    lines.push(`Packages = {"${caseVariant(r, r.pick(PKGS))}"};`);
  }
  if (r.chance(0.9)) {
    const n = 1 + r.int(4);
    lines.push(
      `Requirements = ${
        Array.from({ length: n }, () => atom(r, 0)).join(" && ")
      };`,
    );
  }
  return parseJdl(lines.join("\n"));
}

function randomSite(r: Random, whole: boolean): SiteMap {
  const site: SiteMap = {};
  const num = (scale: number) => {
    const n = r.int(scale * 2 + 2) - 1;
    return whole || r.chance(0.5) ? n : n + r.pick([0.25, 0.5, 0.75]);
  };
  const set = (key: string, value: unknown) => {
    if (r.chance(0.9)) site[r.chance(0.2) ? key.toUpperCase() : key] = value;
  };
  set("ce", r.chance(0.95) ? caseVariant(r, r.pick(CES)) : 7);
  set("site", caseVariant(r, r.pick(SITES)));
  set("ttl", r.chance(0.95) ? num(9000) : "9000");
  set("cpuCores", num(8));
  set("memory", num(4000));
  set("disk", num(4000));
  const pkgs = PKGS.filter(() => r.chance(0.6)).map((p) => caseVariant(r, p));
  set("packages", r.chance(0.8) ? pkgs : pkgs.join(r.pick([",", " ", ", "])));
  set("custom", r.pick(["x", "y"]));
  return site;
}

Deno.test("matchKeys() never excludes a site the job accepts, and is exact without residual", () => {
  const seed = seedFromEnv(20240101);
  const r = new Random(seed);
  let accepted = 0, exactAdmitted = 0, exactRejected = 0;
  for (let i = 0; i < 3000; i++) {
    const jd = randomJob(r);
    const keys = matchKeys(jd);
    const { requirements: _, ...withoutRequirements } = jd;
    const base = matchKeys(withoutRequirements);
    for (let j = 0; j < 10; j++) {
      const whole = r.chance(0.7);
      const site = randomSite(r, whole);
      const holds = requirementsHold(jd, site);
      const admitted = keysAdmit(keys, site);
      const context = () =>
        `seed ${seed}, job ${i}, site ${JSON.stringify(site)}\n` +
        `Requirements: ${
          jd.attributes.find((a) => a.key === "Requirements")
            ? JSON.stringify(jd.requirements)
            : "none"
        }\nkeys ${JSON.stringify(keys)}`;
      if (holds && keysAdmit(base, site)) {
        accepted++;
        assert(admitted, `keys exclude an accepted site: ${context()}`);
      }
      if (!keys.residual && whole) {
        if (admitted) exactAdmitted++;
        else exactRejected++;
        assert(
          !admitted || holds,
          `keys admit a site the job rejects: ${context()}`,
        );
      }
    }
  }
  // Each branch must have been exercised for the property to mean anything.
  assertGreater(accepted, 500);
  assertGreater(exactAdmitted, 500);
  assertGreater(exactRejected, 500);
});
