import { assertEquals } from "@std/assert";
import { CliFailure, type CliIo, EXIT } from "./cli_io.ts";
import { userCommand } from "./user_command.ts";

function capture(): CliIo & { lines: string[]; errs: string[] } {
  const lines: string[] = [];
  const errs: string[] = [];
  return {
    lines,
    errs,
    out: (l) => void lines.push(l),
    err: (l) => void errs.push(l),
  };
}

const USAGE = "usage: splitpilot demo [--count N]";

Deno.test("userCommand: --help and -h print the usage and run nothing", async () => {
  let ran = 0;
  const main = userCommand({
    usage: USAGE,
    run: () => Promise.resolve(void ran++),
  });
  for (const flag of ["--help", "-h"]) {
    const io = capture();
    assertEquals(await main([flag], io), 0);
    assertEquals(io.lines, [USAGE]);
  }
  assertEquals(ran, 0);
});

Deno.test("userCommand: the command's own flags and the common ones parse; the body's result is the exit code", async () => {
  const seen: unknown[] = [];
  const main = userCommand({
    usage: USAGE,
    flags: { string: ["count"], boolean: ["all"], alias: { n: "count" } },
    run: ({ flags, json }) => {
      seen.push([flags.count, flags.all, flags.broker, json, flags._]);
      return Promise.resolve(flags.all ? 4 : undefined);
    },
  });
  assertEquals(
    await main(["-n", "3", "--broker", "https://b:1", "x"], capture()),
    0,
  );
  assertEquals(await main(["--all", "--json"], capture()), 4);
  assertEquals(seen, [
    ["3", false, "https://b:1", false, ["x"]],
    [undefined, true, undefined, true, []],
  ]);
});

Deno.test("userCommand: an unknown flag is exit 2, one line, or a JSON error with --json", async () => {
  const main = userCommand({ usage: USAGE, run: () => Promise.resolve() });
  const io = capture();
  assertEquals(await main(["--bogus"], io), EXIT.usage);
  assertEquals(io.errs.length, 1);
  assertEquals(io.errs[0].startsWith("error: "), true, io.errs[0]);
  const js = capture();
  assertEquals(await main(["--bogus", "--json"], js), EXIT.usage);
  assertEquals(JSON.parse(js.lines[0]).reason, "usage");
});

Deno.test("userCommand: errors from the body map to their exit code and reason", async () => {
  const main = userCommand({
    usage: USAGE,
    run: () => {
      throw new CliFailure(EXIT.state, "job 7 is RUNNING", "not_ready");
    },
  });
  const io = capture();
  assertEquals(await main(["--json"], io), EXIT.state);
  assertEquals(JSON.parse(io.lines[0]), {
    error: "job 7 is RUNNING",
    reason: "not_ready",
  });
});
