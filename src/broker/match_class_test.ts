import { assertEquals, assertNotEquals } from "@std/assert";
import { matchKeys, parseJdl } from "../jdl/mod.ts";
import { matchClassKey } from "./match_class.ts";

function key(text: string): string {
  const jd = parseJdl(`Executable = "/x";\n${text}`);
  return matchClassKey(jd, matchKeys(jd));
}

Deno.test("matchClassKey: what does not affect matching does not split classes", () => {
  assertEquals(
    key('Arguments = "1"; OutputFile = "a"; Requirements = other.Site == "A";'),
    key('Arguments = "2"; Requirements = other.SITE == "a";'),
  );
  // Order of allowed sites is irrelevant.
  assertEquals(
    key('Requirements = other.CE == "x" || other.CE == "y";'),
    key('Requirements = other.CE == "y" || other.CE == "x";'),
  );
});

Deno.test("matchClassKey: every indexed key splits classes", () => {
  const base = key("");
  for (
    const text of [
      "CPUCores = 2;",
      "TTL = 7200;",
      'MemorySize = "2GB";',
      "WorkDirectorySize = 100;",
      'Packages = "ROOT::v6";',
      'Requirements = other.Site == "A";',
      'Requirements = other.CE == "A";',
    ]
  ) {
    assertNotEquals(key(text), base, text);
  }
});

Deno.test("matchClassKey: residual requirements split by text and by the own keys they read", () => {
  const a = key('Requirements = other.Site != "A";');
  assertNotEquals(a, key('Requirements = other.Site != "B";'));
  assertEquals(a, key('Arguments = "x"; Requirements = other.Site != "A";'));
  const own = (v: string, extra = "") =>
    key(
      `${extra}Flavour = "${v}"; Requirements = Flavour == "a" || other.CPUCores >= 4;`,
    );
  assertNotEquals(own("a"), own("b"));
  assertEquals(own("a"), own("a", 'Arguments = "other";'));
  // Followed through chains of own keys.
  const chain = (v: string) =>
    key(
      `Base = "${v}"; Flavour = Base; Requirements = Flavour == "a" || other.TTL > 5;`,
    );
  assertNotEquals(chain("a"), chain("b"));
});
