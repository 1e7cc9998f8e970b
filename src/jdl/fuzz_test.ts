import { assertEquals, assertGreater, fail } from "@std/assert";
import {
  evaluate,
  formatJdl,
  JdlError,
  keysAdmit,
  matchKeys,
  parseJdl,
  requirementsHold,
  type SiteMap,
} from "./mod.ts";
import { Random, seedFromEnv } from "../../tests/_random.ts";

/**
 * Inputs always fuzzed (enough for hundreds of parsed and rejected ones
 * with any seed, however slow the machine); a fast machine goes on for
 * the wall-clock budget, up to the iteration cap.
 */
const MIN_ITERATIONS = 3000;
const BUDGET_MS = 2500;
const MAX_ITERATIONS = 200_000;

const VALID = [
  `# production
Executable = "/alice/bin/aliroot";
Arguments = "--run 12345 --config 'sim.C(\\"pp\\")' -n 200";
InputFile = {"LF:/alice/sim/sim.C", "LF:/alice/sim/rec.C",};
OutputArchive = {"log_archive.zip:std*,*.log@disk=1", "root.zip:*.root@disk=2"};
OutputFile = {"out.root@disk=2,ALICE::CERN::EOS", "histos.txt"};
TTL = "72000"; MemorySize = {"8GB"}; WorkDirectorySize = 5000; CPUCores = 8;
Packages = {"VO_ALICE@AliPhysics::vAN-20240101-1"}; Price = 1.5; Priority = -1;
MaxWaitingTime = "2h"; User = "aliprod"; Container = "el9";
Requirements = (other.TTL > 72000) && member(other.Packages, "VO_ALICE@ROOT::v6")
  && (other.CE == "ALICE::CERN::Pilot" || other.CE == "ALICE::GSI::Pilot")
  && !isUndefined(other.Memory) && other.Memory >= 4 * 1024 - -1 / 2;
/* block */ Extra = { "x", 1e3, TRUE, { other.A, -B } } // end`,
  'executable = "run.sh"; inputfile = "lf:/a/run.sh"; arguments = "a b";',
  'Executable = "/bin/sh"; Requirements = other.CE == "x" || other.Site != "y"',
];

const ALPHABET = [
  ..."{}()=;,.!<>+-*/&|\"'\\#@:xX01 \n\t",
  "other.",
  "&&",
  "||",
  "==",
  "member(",
  "isUndefined(",
  'regexp("(a+)+[^x]{2,}$", ',
  "\ufeff",
  "/*",
  "*/",
  "//",
  '"LF:/a"',
  "Executable",
  "TTL",
  "Requirements",
  "\u00e9",
  "\ud83d",
  "\u{1F600}",
  "\0",
];

function randomBytes(r: Random): string {
  const n = r.int(200);
  let s = "";
  for (let i = 0; i < n; i++) {
    s += String.fromCharCode(r.chance(0.9) ? r.int(128) : r.int(0x10000));
  }
  return s;
}

function tokenSoup(r: Random): string {
  const n = r.int(60);
  let s = r.chance(0.5) ? 'Executable = "/x";' : "";
  for (let i = 0; i < n; i++) s += r.pick(ALPHABET);
  return s;
}

function mutate(r: Random): string {
  let s = r.pick(VALID);
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits; e++) {
    const i = r.int(s.length + 1);
    switch (r.int(6)) {
      case 0: // insert
        s = s.slice(0, i) + r.pick(ALPHABET) + s.slice(i);
        break;
      case 1: // delete
        s = s.slice(0, i) + s.slice(i + 1 + r.int(3));
        break;
      case 2: { // swap
        const j = r.int(s.length);
        const a = s.split("");
        [a[i], a[j]] = [a[j], a[i]];
        s = a.join("");
        break;
      }
      case 3: // truncate
        s = s.slice(0, i);
        break;
      case 4: { // duplicate a slice
        const j = i + r.int(40);
        s = s.slice(0, j) + s.slice(i, j) + s.slice(j);
        break;
      }
      default: // replace one char
        s = s.slice(0, i) + String.fromCharCode(r.int(128)) + s.slice(i + 1);
    }
  }
  return s;
}

function deepNesting(r: Random): string {
  const depth = 40 + r.int(100);
  const opens = ["(", "{", "!", "-", "member(a, ", "a && (", "1 + ("];
  const closes: Record<string, string> = {
    "(": ")",
    "{": "}",
    "!": "",
    "-": "",
    "member(a, ": ")",
    "a && (": ")",
    "1 + (": ")",
  };
  const stack: string[] = [];
  for (let i = 0; i < depth; i++) stack.push(r.pick(opens));
  let s = 'Executable = "/x"; R = ' + stack.join("") + "x";
  for (let i = stack.length - 1; i >= 0; i--) s += closes[stack[i]];
  if (r.chance(0.3)) s += " && x".repeat(r.int(100));
  return r.chance(0.2) ? s.slice(0, r.int(s.length)) : s;
}

const SITES: SiteMap[] = [
  {},
  {
    ce: "ALICE::CERN::Pilot",
    ttl: 80000,
    cpuCores: 8,
    memory: 2 ** 34,
    packages: ["VO_ALICE@ROOT::v6"],
  },
  {
    CE: "x",
    site: "y",
    TTL: "a",
    packages: "VO_ALICE@ROOT::v6, other" as unknown as string[],
  },
];

Deno.test("fuzz: parseJdl() returns or throws JdlError, and round-trips", () => {
  const seed = seedFromEnv(0x5eed);
  const r = new Random(seed);
  const generators = [randomBytes, tokenSoup, mutate, mutate, deepNesting];
  const deadline = performance.now() + BUDGET_MS;
  let parsed = 0, rejected = 0, i = 0;
  for (
    ;
    i < MIN_ITERATIONS ||
    (i < MAX_ITERATIONS && performance.now() < deadline);
    i++
  ) {
    const text = r.pick(generators)(r);
    const where = () =>
      `seed ${seed}, iteration ${i}, input ${JSON.stringify(text)}`;
    let jd;
    try {
      jd = parseJdl(text);
    } catch (e) {
      if (!(e instanceof JdlError)) fail(`${where()}: threw ${e}`);
      if (!/^line \d+, column \d+: /.test(e.message)) {
        fail(`${where()}: bad message ${e.message}`);
      }
      rejected++;
      continue;
    }
    parsed++;
    try {
      const printed = formatJdl(jd);
      assertEquals(parseJdl(printed), jd);
      assertEquals(formatJdl(parseJdl(printed)), printed);
      const keys = matchKeys(jd);
      for (const site of SITES) {
        requirementsHold(jd, site);
        keysAdmit(keys, site);
        for (const a of jd.attributes) evaluate(a.value, site, jd);
      }
    } catch (e) {
      fail(`${where()}: ${e instanceof Error ? e.stack : e}`);
    }
  }
  console.log(
    `fuzz seed ${seed}: ${i} inputs, ${parsed} parsed, ${rejected} rejected`,
  );
  assertGreater(parsed, 100);
  assertGreater(rejected, 100);
});

Deno.test("fuzz: huge inputs are refused or handled without a stack overflow", () => {
  const cases = [
    'Executable = "/x"; R = ' + "(".repeat(500_000),
    'Executable = "/x"; R = ' + "!".repeat(500_000) + "x;",
    'Executable = "/x"; R = ' + "1 + ".repeat(200_000) + "1;",
    'Executable = "/x"; R = ' + "{".repeat(300_000),
    'Executable = "/x"; R = "' + "\\".repeat(600_000),
    'Executable = "/x";' + "a = b;".repeat(170_000),
    'Executable = "/x";' + "\n".repeat(1024 * 1024),
  ];
  for (const text of cases) {
    try {
      parseJdl(text);
    } catch (e) {
      if (!(e instanceof JdlError)) fail(`${text.slice(0, 40)}…: threw ${e}`);
    }
  }
  // A long chain of references parses, and its evaluation gives up politely.
  const chain = ['Executable = "/x";', "TTL = A0;"];
  for (let i = 0; i < 20_000; i++) chain.push(`A${i} = A${i + 1};`);
  chain.push("A20000 = 60;");
  try {
    parseJdl(chain.join("\n"));
    fail("a 20000-link TTL chain should not resolve");
  } catch (e) {
    if (!(e instanceof JdlError)) throw e;
  }
});
