import { assertEquals, assertThrows } from "@std/assert";
import { parseWrapperFlags } from "./_flags.ts";

Deno.test("wrapper flags: values, inline values and the boolean", () => {
  assertEquals(
    parseWrapperFlags(["--workdir", "/w", "--start-timeout=5", "--self-test"]),
    { workdir: "/w", startTimeout: "5", selfTest: true, prestarted: false },
  );
  assertEquals(parseWrapperFlags(["--prestarted"]).prestarted, true);
});

Deno.test("wrapper flags: unknown or incomplete arguments are refused", () => {
  assertThrows(() => parseWrapperFlags(["--nope"]), TypeError, "--workdir DIR");
  assertThrows(
    () => parseWrapperFlags(["--workdir"]),
    TypeError,
    "needs a value",
  );
  assertThrows(() => parseWrapperFlags(["--self-test=1"]), TypeError);
  assertThrows(() => parseWrapperFlags(["--prestarted=1"]), TypeError);
});
