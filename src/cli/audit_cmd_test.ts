import { assertEquals, assertStringIncludes } from "@std/assert";
import { main as auditMain } from "./audit_cmd.ts";

function io() {
  const lines: string[] = [];
  return {
    lines,
    io: {
      out: (l: string) => lines.push(l),
      err: (l: string) => lines.push(l),
    },
  };
}

Deno.test("audit: bad usage exits 2 with one line naming the problem", async () => {
  for (
    const [args, msg] of [
      [["log"], "--role (missing): expected agent, wrapper or broker"],
      [["--role", "agent"], "at least one LOG file is required"],
      [["log", "--role", "agent", "--broker", "h:1"], "--work-dir"],
      [["log", "--role", "broker", "--context", "{"], "not valid JSON"],
      [
        [
          "log",
          "--role",
          "wrapper",
          "--context",
          '{"sandbox":"/w","broker":1}',
        ],
        '"broker" must be a string',
      ],
    ] as [string[], string][]
  ) {
    const c = io();
    assertEquals(await auditMain(args, c.io), 2, args.join(" "));
    assertStringIncludes(c.lines[0], msg);
  }
});
