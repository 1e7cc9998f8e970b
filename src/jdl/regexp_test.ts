import { assert, assertStrictEquals } from "@std/assert";
import { evaluate, parseJdl, type SiteMap, type Value } from "./mod.ts";
import { regexpTest } from "./_regexp.ts";
import { Random, seedFromEnv } from "../../tests/_random.ts";

function ev(source: string, site: SiteMap = {}): Value {
  const jd = parseJdl(`Executable = "/x"; R = ${source};`);
  return evaluate(jd.attributes[1].value, site);
}

Deno.test("regexp() matches CE names the way ALICE JDLs use it", () => {
  const site = { ce: "ALICE::CERN::Pilot" };
  assertStrictEquals(ev('regexp("^ALICE::CERN::", other.CE)', site), true);
  assertStrictEquals(ev('regexp("::(GSI|FZK)::", other.CE)', site), false);
  assertStrictEquals(ev('regexp("alice::cern", other.CE)', site), false);
  assertStrictEquals(ev('regexp("alice::cern", other.CE, "i")', site), true);
  assertStrictEquals(ev('regexp("\\d+", "run 42")', site), true);
  assertStrictEquals(ev('regexp("(", other.CE)', site), undefined);
  // As in PCRE and POSIX (not JavaScript), a leading "]" is literal.
  assertStrictEquals(ev('regexp("^[]a]+$", "]a]")', site), true);
  assertStrictEquals(ev("regexp(1, other.CE)", site), undefined);
  assertStrictEquals(ev('regexp("x", other.missing)', site), undefined);
});

const PATTERNS = [
  "abc",
  "^abc$",
  "a.c",
  "a*b",
  "a+b+",
  "(ab)*c",
  "(?:a|b)c",
  "a|bc|",
  "^(a|ab)(c|bcd)$",
  "[a-c]+",
  "[^a-c]",
  "[-a]",
  "[a-]x",
  "[\\d_]+$",
  "\\w+\\s\\w+",
  "\\D\\S\\W",
  "x{2}",
  "x{2,}",
  "x{1,3}y",
  "^x{0,2}$",
  "a{,2}",
  "a{",
  "\\.\\*\\[",
  "(a*)*b",
  "(a|a)*$",
  "^$",
  "$^",
  "a??b",
  "(x+x+)+y",
  "[A-Z]a",
];

Deno.test("regexp matcher agrees with JavaScript RegExp on its subset", () => {
  const seed = seedFromEnv(42);
  const r = new Random(seed);
  const alphabet = "abcxyABCXY01 _.*[]-\n";
  for (const pattern of PATTERNS) {
    for (const flags of ["", "i"]) {
      const native = new RegExp(pattern, flags);
      for (let k = 0; k < 300; k++) {
        let s = "";
        const n = r.int(12);
        for (let j = 0; j < n; j++) s += r.pick([...alphabet]);
        assertStrictEquals(
          regexpTest(pattern, s, flags),
          native.test(s),
          `seed ${seed}: /${pattern}/${flags} on ${JSON.stringify(s)}`,
        );
      }
    }
  }
});

Deno.test("regexp matcher stays linear on catastrophic patterns", () => {
  const start = performance.now();
  const input = "a".repeat(5000) + "!";
  assertStrictEquals(regexpTest("^(a+)+$", input), false);
  assertStrictEquals(regexpTest("(a|a)*b", input), false);
  assertStrictEquals(regexpTest("(a*)*(a*)*(a*)*c", input), false);
  // About 0.5 s on an idle CI box, several on a loaded one; a backtracking
  // matcher would take longer than the universe's age on these inputs.
  assert(performance.now() - start < 30_000, "took too long");
  assertStrictEquals(regexpTest("a{1000}{1000}", "a"), undefined);
  assertStrictEquals(regexpTest("x".repeat(1001), "x"), undefined);
  assertStrictEquals(regexpTest("x", "x".repeat(10_001)), undefined);
  for (const bad of ["(", ")", "[a", "a\\", "*a", "a{3,2}", "[z-a]", "a|*"]) {
    assertStrictEquals(regexpTest(bad, "a"), undefined, bad);
  }
});
