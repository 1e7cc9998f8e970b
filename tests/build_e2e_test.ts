/**
 * End to end against the built artefacts: the sample job suite runs with
 * the built agent (`splitpilot-agent.run`) and the built wrapper
 * (unpacked from `splitpilot-wrapper.run`, bound read-only into bwrap),
 * both under `DENO_AUDIT_PERMISSIONS`; the audit logs are then replayed
 * against the role table and must hold nothing outside it.
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertStringIncludes,
} from "@std/assert";
import { auditRecords, parseAuditLog, roleTable } from "../src/audit/mod.ts";
import { main as auditMain } from "../src/cli/audit_cmd.ts";
import { needs, startGrid } from "./_grid.ts";
import { brokerAddr, buildFor, runBuiltAgent } from "./_build.ts";
import { assertSamplesRan, sandboxesLeft, submitSamples } from "./_samples.ts";

Deno.test({
  name:
    "build e2e: sample jobs with the built agent and wrapper in bwrap, audited against the table",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    try {
      const build = await buildFor(grid);
      const ids = await submitSamples(grid);
      // In the work root: the only place the agent may write.
      const agentAudit = `${grid.dir}/site/work/agent-audit.jsonl`;
      await Deno.mkdir(`${grid.dir}/site/work`, {
        recursive: true,
        mode: 0o700,
      });
      const agent = await runBuiltAgent(grid, build, {
        containers: "bwrap",
        extraArgs: [
          "--max-empty",
          "1",
          "--heartbeat",
          "2",
          "--wrapper-audit",
          "/dev/stderr",
        ],
        env: { DENO_AUDIT_PERMISSIONS: agentAudit },
      });
      assertEquals(agent.code, 0, agent.log);
      assertStringIncludes(agent.log, "container runtime: bwrap");
      // The wrapper ran from the built artefact, not from the sources.
      assertStringIncludes(
        await Deno.readTextFile(`${agent.siteDir}/rt/wrapper/run`),
        `# broker: ${brokerAddr(grid)}`,
      );
      await assertSamplesRan(grid, ids, agent.log);
      assertEquals(
        await sandboxesLeft(`${agent.siteDir}/work`),
        [],
        "the agent removed every sandbox",
      );

      // Agent audit: its own log file, checked against its table row.
      const agentLog = parseAuditLog(await Deno.readTextFile(agentAudit));
      assertGreater(agentLog.records.length, 10);
      const agentReport = auditRecords(
        agentLog.records,
        roleTable({
          role: "agent",
          workDir: agent.siteDir,
          broker: brokerAddr(grid),
        }),
        { role: "agent" },
      );
      assertEquals(agentReport.outside, [], JSON.stringify(agentReport.kinds));
      // The agent's run list: bwrap, the wrapper's launcher and its three
      // helpers; no shell, no kill (Deno logs no run checks, so the
      // report shows what the table grants).
      const agentOut: string[] = [];
      assertEquals(
        await auditMain(
          [
            agentAudit,
            "--role",
            "agent",
            "--work-dir",
            agent.siteDir,
            "--broker",
            brokerAddr(grid),
          ],
          { out: (l) => agentOut.push(l), err: (l) => agentOut.push(l) },
        ),
        0,
        agentOut.join("\n"),
      );
      const runLine = agentOut.join("\n").split("\n").find((l) =>
        l.startsWith("run ")
      );
      const helpers = `${agent.siteDir}/rt/agent/helpers`;
      const granted = (runLine ?? "").trim().split(/\s+/)[4]?.split(",") ??
        [];
      assertEquals(
        granted.filter((p) => p.startsWith(`${helpers}/`)),
        [
          `${helpers}/splitpilot-procfs`,
          `${helpers}/splitpilot-kill`,
          `${helpers}/splitpilot-du`,
        ],
        runLine,
      );
      // Besides the helpers: only container launchers and the wrapper's.
      for (const p of granted.filter((p) => !p.startsWith(`${helpers}/`))) {
        assert(
          ["/usr/bin/bwrap", "/usr/bin/setpriv"].includes(p) ||
            p === `${agent.siteDir}/rt/wrapper/run`,
          `unexpected program on the agent's run list: ${p}`,
        );
      }
      assert(!/\/bin\/(sh|kill)\b/.test(runLine ?? ""), runLine);
      const kinds = new Set(agentLog.records.map((r) => r.permission));
      for (const k of ["read", "write", "net"]) assert(kinds.has(k), k);

      // Wrapper audit: its records came through the agent's stderr.
      const wrapperLog = parseAuditLog(agent.log);
      const wrapperNet = wrapperLog.records.filter((r) =>
        r.permission === "net"
      );
      // The wrapper reached nothing: its broker calls went over the pipe
      // and the agent relayed them (README, "Threat model").
      assertEquals(wrapperNet, [], "the wrapper made no network access");
      assertGreater(wrapperLog.records.length, 10, agent.log);
      const wrapperReport = auditRecords(
        wrapperLog.records,
        roleTable({ role: "wrapper", broker: brokerAddr(grid) }),
        { role: "wrapper", skipped: wrapperLog.skipped },
      );
      assertEquals(
        wrapperReport.outside,
        [],
        JSON.stringify(wrapperReport.kinds),
      );
      assert(
        wrapperLog.records.some((r) =>
          r.permission === "write" && r.value?.startsWith("/workdir/")
        ),
        "the wrappers wrote into their sandbox",
      );

      // The CLI says the same, and names the caveats plainly.
      const logs = `${grid.dir}/wrapper-audit.log`;
      await Deno.writeTextFile(logs, agent.log);
      const out: string[] = [];
      const io = {
        out: (l: string) => out.push(l),
        err: (l: string) => out.push(l),
      };
      const code = await auditMain(
        [logs, "--role", "wrapper", "--broker", brokerAddr(grid)],
        io,
      );
      assertEquals(code, 0, out.join("\n"));
      const text = out.join("\n");
      assertStringIncludes(
        text,
        "REFUSED check is logged exactly like a granted one",
      );
      assertStringIncludes(text, "no record for --allow-run checks");
      assertStringIncludes(text, "result: OK");
    } finally {
      await grid.close();
    }
  },
});
