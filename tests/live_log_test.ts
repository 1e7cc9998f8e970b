/**
 * Live job output end to end: a real agent forwards the wrapper's `log`
 * frames to the broker, and `splitpilot logs -f` shows a running job's
 * lines while the job is still running (the payload waits for the test
 * to have seen its first line), escaped so that a payload cannot drive
 * the user's terminal. After a broker restart, with the live tail gone,
 * `logs` serves the files the job uploaded.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { main as logsMain } from "../src/cli/logs_cmd.ts";
import { startBrokerProcess } from "../src/launch/role_process.ts";
import { needs, startGrid } from "./_grid.ts";

function capture() {
  const lines: string[] = [];
  let wake = () => {};
  return {
    lines,
    io: {
      out: (l: string) => {
        lines.push(l);
        wake();
      },
      err: (l: string) => lines.push(`ERR ${l}`),
    },
    /** Resolves once a line matching `re` was printed. */
    seen(re: RegExp): Promise<void> {
      return new Promise((resolve) => {
        const check = () => lines.some((l) => re.test(l)) && resolve();
        wake = check;
        check();
      });
    },
  };
}

Deno.test({
  name:
    "logs -f: a running job's lines arrive live, escaped; after a broker restart the uploaded files",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid({ process: true });
    try {
      // The payload prints, then waits (up to 60 s) for the test to have
      // seen that line through `logs -f` before it goes on.
      const jdl = `Executable = "/bin/sh";
Arguments = "-c 'echo first; printf \\"evil \\\\033[31mred\\\\n\\"; echo oops >&2; i=0; while [ ! -e seen ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done; echo last'";
TTL = 300;`;
      const id = await grid.submit(jdl);
      const agent = grid.runAgent({
        containers: "bwrap",
        extraArgs: ["--max-empty", "1", "--heartbeat", "2"],
      });
      const c = capture();
      const flags = ["--broker", grid.url, "--token", grid.userTokenDir];
      const follow = logsMain([id, "-f", ...flags], c.io, { pollMs: 200 });
      await c.seen(/^first$/);
      // Seen while the job still runs: the line came live, not at the end.
      const job = await grid.user.json<{ state: string }>(
        "GET",
        `/api/v1/jobs/${id}`,
      );
      assertEquals(job!.state, "RUNNING");
      // Let the payload finish: drop the marker into its sandbox.
      const work = `${grid.dir}/work`;
      let marked = false;
      for await (const e of Deno.readDir(work)) {
        if (!e.isDirectory) continue;
        try {
          await Deno.stat(`${work}/${e.name}/stdout`);
          await Deno.writeTextFile(`${work}/${e.name}/seen`, "");
          marked = true;
        } catch { /* not a sandbox */ }
      }
      assert(marked, "found the job's sandbox");
      assertEquals(await follow, 0, c.lines.join("\n"));
      assertEquals((await agent).code, 0);
      assertEquals(
        c.lines.filter((l) => l === "last").length,
        1,
        c.lines.join("\n"),
      );
      assert(c.lines.includes("evil \\x1b[31mred"), c.lines.join("\n"));
      assert(c.lines.includes("stderr: oops"), c.lines.join("\n"));
      assert(
        !c.lines.some((l) => l.includes("\x1b")),
        "no raw escape reaches the terminal",
      );

      // Restart the broker: the live tail is gone, the uploaded files stay.
      const port = Number(new URL(grid.url).port);
      await grid.brokerProcess!.stop();
      const again = await startBrokerProcess({ stateDir: grid.stateDir, port });
      try {
        const d = capture();
        assertEquals(
          await logsMain([id, ...flags], d.io),
          0,
          d.lines.join("\n"),
        );
        assertEquals(d.lines[0], "first");
        assertStringIncludes(d.lines.join("\n"), "stderr: oops");
        assertEquals(d.lines.at(-1), "stderr: oops");
      } finally {
        await again.stop();
      }
      // Bad usage and someone else's job.
      const e = capture();
      assertEquals(await logsMain(["nope", ...flags], e.io), 2);
    } finally {
      await grid.close();
    }
  },
});
