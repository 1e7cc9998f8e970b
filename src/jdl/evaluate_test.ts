import { assertEquals, assertStrictEquals } from "@std/assert";
import {
  evaluate,
  type Expr,
  parseJdl,
  requirementsHold,
  type SiteMap,
  type Value,
} from "./mod.ts";

/** Parses `R = <source>` and returns the tree of R. */
function expr(source: string): Expr {
  return parseJdl(`Executable = "/x"; R = ${source};`).attributes[1].value;
}

function ev(source: string, site: SiteMap = {}): Value {
  return evaluate(expr(source), site);
}

const BOOL3: [string, boolean | undefined][] = [
  ["true", true],
  ["false", false],
  ["other.missing", undefined],
];

Deno.test("evaluate() follows three-valued && and ||", () => {
  // ClassAd's tables: false absorbs &&, true absorbs ||.
  const and = (a?: boolean, b?: boolean) =>
    a === false || b === false
      ? false
      : a === true && b === true
      ? true
      : undefined;
  const or = (a?: boolean, b?: boolean) =>
    a === true || b === true
      ? true
      : a === false && b === false
      ? false
      : undefined;
  for (const [ls, l] of BOOL3) {
    for (const [rs, r] of BOOL3) {
      assertStrictEquals(ev(`${ls} && ${rs}`), and(l, r), `${ls} && ${rs}`);
      assertStrictEquals(ev(`${ls} || ${rs}`), or(l, r), `${ls} || ${rs}`);
    }
  }
  assertStrictEquals(ev("!true"), false);
  assertStrictEquals(ev("!false"), true);
  assertStrictEquals(ev("!other.missing"), undefined);
  assertStrictEquals(ev('!"yes"'), undefined);
  assertStrictEquals(ev("1 && true"), undefined);
  assertStrictEquals(ev("1 && false"), false);
  assertStrictEquals(ev('"x" || true'), true);
});

Deno.test("evaluate() compares numbers, strings (ignoring case) and booleans", () => {
  const table: [string, Value][] = [
    ["1 == 1", true],
    ["1 == 1.0", true],
    ["1 != 2", true],
    ["1 < 2", true],
    ["2 <= 2", true],
    ["3 > 4", false],
    ["4 >= 4.5", false],
    ['"ALICE::CERN" == "alice::cern"', true],
    ['"a" != "A"', false],
    ['"apple" < "Banana"', true],
    ['"b" >= "B"', true],
    ["true == true", true],
    ["true != false", true],
    // Mismatched types are UNDEFINED, never an exception.
    ['1 == "1"', undefined],
    ["true == 1", undefined],
    ['"a" < 1', undefined],
    ["true < false", undefined],
    ["{1} == {1}", undefined],
    ["other.x == 1", undefined],
    ["other.x != 1", undefined],
    ["other.x < 1", undefined],
  ];
  for (const [source, want] of table) {
    assertStrictEquals(ev(source), want, source);
  }
});

Deno.test("evaluate() does arithmetic on numbers only", () => {
  const table: [string, Value][] = [
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["7 / 2", 3.5],
    ["10 - 2 - 3", 5],
    ["-(2 - 5)", 3],
    ["--4", 4],
    ["1 / 0", undefined],
    ["0 / 0", undefined],
    ["1e308 * 10", undefined],
    ['"a" + "b"', undefined],
    ["true + 1", undefined],
    ['-"a"', undefined],
    ["other.ttl - 100", 3500],
  ];
  for (const [source, want] of table) {
    assertStrictEquals(ev(source, { ttl: 3600 }), want, source);
  }
  assertEquals(ev('{ 1 + 1, "x", other.no }'), [2, "x", undefined]);
});

Deno.test("evaluate() looks other.X up ignoring case", () => {
  const site: SiteMap = {
    ce: "ALICE::CERN::Pilot",
    cpuCores: 8,
    ttl: 7200,
    memory: 2 ** 34,
    packages: ["VO_ALICE@ROOT::v6"],
    Custom: "yes",
  };
  assertStrictEquals(ev('other.CE == "alice::cern::pilot"', site), true);
  assertStrictEquals(ev("other.CPUCores", site), 8);
  assertStrictEquals(ev("other.TTL", site), 7200);
  assertStrictEquals(ev("other.custom", site), "yes");
  assertStrictEquals(ev("other.MEMORY >= 16 * 1024 * 1024 * 1024", site), true);
  assertStrictEquals(ev("other.nothing", site), undefined);
  // Values of other types are UNDEFINED, not errors.
  assertStrictEquals(ev("other.x", { x: { a: 1 } }), undefined);
  assertStrictEquals(ev("other.x", { x: null }), undefined);
  assertStrictEquals(ev("other.x", { x: Infinity }), undefined);
  assertStrictEquals(ev("other.x", { x: 10n }), undefined);
  assertEquals(ev("other.x", { x: [1, [2, { no: 1 }]] }), [1, [2, undefined]]);
  assertStrictEquals(ev("other.toString"), undefined);
  assertStrictEquals(ev("other.__proto__"), undefined);
});

Deno.test("evaluate() implements member() and isUndefined()", () => {
  const site: SiteMap = {
    packages: ["VO_ALICE@ROOT::v6", "VO_ALICE@AliPhysics::vAN-1"],
    partitions: "multicore, gpu,highmem",
    numbers: [1, 2, 3],
  };
  const table: [string, Value][] = [
    ['member(other.Packages, "vo_alice@root::V6")', true],
    ['member(other.Packages, "VO_ALICE@ROOT::v5")', false],
    ['member("VO_ALICE@ROOT::v6", other.Packages)', true],
    ['member(other.Partitions, "GPU")', true],
    ['member(other.Partitions, "cpu")', false],
    ["member(other.Numbers, 2)", true],
    ['member(other.Numbers, "2")', false],
    ['member({"a", "b"}, "B")', true],
    ['member(other.missing, "x")', undefined],
    ["member(other.Packages, other.missing)", undefined],
    ["member(5, 5)", undefined],
    ["isUndefined(other.missing)", true],
    ["isUndefined(other.Packages)", false],
    ["isUndefined(1 / 0)", true],
  ];
  for (const [source, want] of table) {
    assertStrictEquals(ev(source, site), want, source);
  }
});

Deno.test("evaluate() resolves bare names in the job itself", () => {
  const jd = parseJdl(`
    Executable = "/x";
    MinTTL = 2 * hours;
    Hours = 3600;
    Loop1 = Loop2 + 1;
    Loop2 = Loop1 + 1;
    Self = Self;
    Requirements = other.TTL >= MINTTL;
  `);
  const r = jd.requirements!;
  assertStrictEquals(evaluate(r, { ttl: 7200 }, jd), true);
  assertStrictEquals(evaluate(r, { ttl: 7199 }, jd), false);
  assertStrictEquals(evaluate(r, { ttl: 7200 }), undefined);
  const refs = (name: string) =>
    evaluate({ kind: "ref", scope: "self", name }, {}, jd);
  assertStrictEquals(refs("loop1"), undefined);
  assertStrictEquals(refs("Self"), undefined);
  assertStrictEquals(refs("nothing"), undefined);
  assertStrictEquals(refs("executable"), "/x");
});

Deno.test("evaluate() stays fast on exponential reference graphs", () => {
  const lines = ['Executable = "/x";', "A0 = 1;"];
  for (let i = 1; i <= 40; i++) lines.push(`A${i} = A${i - 1} + A${i - 1};`);
  const jd = parseJdl(lines.join("\n"));
  const start = performance.now();
  // Chains longer than 32 references give up with UNDEFINED.
  assertStrictEquals(
    evaluate({ kind: "ref", scope: "self", name: "A40" }, {}, jd),
    undefined,
  );
  assertStrictEquals(
    evaluate({ kind: "ref", scope: "self", name: "A20" }, {}, jd),
    2 ** 20,
  );
  assertEquals(performance.now() - start < 1000, true);
});

Deno.test("evaluate() gives UNDEFINED for trees too deep to walk", () => {
  let deep: Expr = { kind: "literal", value: true };
  for (let i = 0; i < 100_000; i++) {
    deep = { kind: "unary", op: "!", operand: deep };
  }
  assertStrictEquals(evaluate(deep, {}), undefined);
});

Deno.test("requirementsHold() is true only for a true Requirements", () => {
  const jd = (req: string) =>
    parseJdl(`Executable = "/x";${req ? ` Requirements = ${req};` : ""}`);
  const site: SiteMap = { ce: "ALICE::CERN::Pilot", ttl: 86400, cpuCores: 8 };
  assertStrictEquals(requirementsHold(jd(""), site), true);
  assertStrictEquals(requirementsHold(jd("other.TTL > 72000"), site), true);
  assertStrictEquals(requirementsHold(jd("other.TTL > 90000"), site), false);
  assertStrictEquals(requirementsHold(jd("other.Disk > 1"), site), false);
  assertStrictEquals(
    requirementsHold(jd('!(other.Disk > 1) || other.CE == "x"'), site),
    false,
  );
  assertStrictEquals(
    requirementsHold(jd("isUndefined(other.Disk) || other.Disk > 1"), site),
    true,
  );
  assertStrictEquals(requirementsHold(jd('"true"'), site), false);
  assertStrictEquals(requirementsHold(jd("1"), site), false);
  assertStrictEquals(
    requirementsHold(jd('other.CPUCores >= "4"'), site),
    false,
  );
});
