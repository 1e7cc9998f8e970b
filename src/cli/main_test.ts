import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import type { CliIo } from "./cli_io.ts";
import { COMMANDS } from "./commands.ts";
import { splitpilotMain, usage } from "./main.ts";

function capture(): CliIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (l) => out_.push(l), err: (l) => err_.push(l) };
}

const SUBCOMMANDS = [
  ["ca", "init"],
  ["token", "issue"],
  ["token", "show"],
  ["broker", "serve"],
  ["site", "publish"],
  ["site", "script"],
];

Deno.test("help: every command and subcommand answers --help with usage and examples", async () => {
  const calls = [
    ...Object.keys(COMMANDS).map((c) => [c]),
    ...SUBCOMMANDS,
  ];
  for (const call of calls) {
    for (const flag of ["--help", "-h"]) {
      const io = capture();
      const code = await splitpilotMain([...call, flag], io);
      const text = io.out_.join("\n");
      assertEquals(code, 0, `${call.join(" ")} ${flag}: ${io.err_.join("\n")}`);
      assertMatch(text, /usage:/, call.join(" "));
      assertMatch(text, /examples?:\n {2}\S/, `${call.join(" ")}: no examples`);
      assertEquals(io.err_, [], call.join(" "));
    }
  }
  const io = capture();
  assertEquals(await splitpilotMain(["help", "ps"], io), 0);
  assertStringIncludes(io.out_.join("\n"), "usage: splitpilot ps");
  for (const name of Object.keys(COMMANDS)) assertStringIncludes(usage(), name);
});

Deno.test("errors: one line, or JSON {error, reason} with --json, naming the object", async () => {
  let io = capture();
  assertEquals(await splitpilotMain(["nope"], io), 2);
  assertEquals(io.err_.length, 1);
  assertStringIncludes(io.err_[0], 'unknown command "nope"');

  io = capture();
  assertEquals(await splitpilotMain(["ps", "--bogus", "--json"], io), 2);
  const e = JSON.parse(io.out_[0]);
  assertEquals(e.reason, "usage");
  assertStringIncludes(e.error, "unknown flag --bogus");
  assertEquals(io.err_, []);

  io = capture();
  assertEquals(await splitpilotMain(["trace", "abc", "--json"], io), 2);
  assertStringIncludes(JSON.parse(io.out_[0]).error, 'job ID "abc"');

  io = capture();
  assertEquals(
    await splitpilotMain(["put", "/no/such/file", "/jdoe/x", "--json"], io),
    3,
  );
  assertEquals(JSON.parse(io.out_[0]), {
    error: "/no/such/file: no such file",
    reason: "not_found",
  });

  io = capture();
  assertEquals(await splitpilotMain(["get", "/jdoe/../etc/passwd"], io), 2);
  assertStringIncludes(io.err_[0], 'LFN "/jdoe/../etc/passwd"');

  io = capture();
  assertEquals(await splitpilotMain(["broker", "serve", "--state"], io), 2);
  assertEquals(io.err_, ["error: --state needs a value"]);

  io = capture();
  assertEquals(
    await splitpilotMain([
      "ca",
      "init",
      "--state",
      "/x",
      "--json",
      "--algorithm",
      "dsa",
    ], io),
    2,
  );
  assert(JSON.parse(io.out_[0]).error.includes("--algorithm dsa"));
});
