import {
  assert,
  assertArrayIncludes,
  assertEquals,
  assertThrows,
} from "@std/assert";
import { compileArgs, compiledFlags } from "./compile_command.ts";

Deno.test("compileArgs: baked flags relative to the start dir, never -A", () => {
  const args = compileArgs({
    role: "agent",
    bundle: "/b/agent.js",
    out: "/d/compiled/splitpilot-agent",
    broker: "broker.example.org:8443",
  });
  assertEquals(args[0], "compile");
  assertArrayIncludes(args, [
    "--no-config",
    "--allow-net=broker.example.org:8443",
    "--allow-write=./work",
  ]);
  assert(!args.some((a) => a === "-A" || a === "--allow-all"));
  const script = args.indexOf("/b/agent.js");
  assertEquals(args.slice(script + 1, script + 3), [
    "--broker",
    "https://broker.example.org:8443",
  ]);
  assertEquals(
    compiledFlags("broker", "0.0.0.0:8443").filter((f) =>
      f.startsWith("--allow-read")
    ),
    ["--allow-read=."],
  );
});

Deno.test("compiledFlags: the wrapper is not compiled (per-job run list)", () => {
  assertThrows(() => compiledFlags("wrapper", "h:1"), Error, "per job");
});
