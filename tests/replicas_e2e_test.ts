/**
 * Three broker replicas on one PostgreSQL (a throwaway cluster), two real
 * agent processes given all three URLs, 200 real jobs. Mid-run one replica
 * is SIGKILLed and another restarted. At the end every job is final, none
 * is DONE twice and none was handed to two agents: the claim is race-free
 * across replicas, and agents and wrappers fail over.
 */
import { assertEquals } from "@std/assert";
import { createCa, TokenIssuer } from "../src/token/mod.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import { agentCommand } from "../src/launch/role_process.ts";
import { startReplicaSet } from "../src/launch/replica_set.ts";
import { PostgresJobStore } from "../src/broker/store_postgres.ts";
import { FINAL_STATES } from "../src/protocol/job_state.ts";
import { AUDIT_PREFIX } from "../src/protocol/audit_verdict.ts";
import { needsPostgres, startPostgres } from "./_postgres.ts";
import { eventually } from "./_eventually.ts";

const JOBS = 200;

Deno.test({
  name:
    "replicas: 3 brokers on PostgreSQL, 2 agents, 200 jobs; one replica SIGKILLed, one restarted; every job final once",
  ignore: needsPostgres(),
  fn: async () => {
    const pg = await startPostgres();
    const dir = await Deno.makeTempDir({ prefix: "splitpilot-replicas-" });
    await Deno.chmod(dir, 0o711);
    const db = await pg.createDatabase();
    const ca = await createCa();
    const set = await startReplicaSet({
      dir,
      db,
      ca,
      extraArgs: ["--sweep-interval", "1"],
    });
    const issuer = await TokenIssuer.fromPem(ca);
    const agents: Deno.ChildProcess[] = [];
    const logs: Promise<string>[] = [];
    let user: BrokerClient | undefined;
    let store: PostgresJobStore | undefined;
    try {
      const userDir = `${dir}/tokens/user`;
      await writeTokenDir(
        userDir,
        await issuer.issue({ role: "USER", subject: "jdoe", ttlSeconds: 3600 }),
        ca.certPem,
      );
      user = new BrokerClient(set.urls, await readTokenDir(userDir));
      const ids: string[] = [];
      for (let i = 0; i < JOBS; i++) {
        // Every replica takes submissions.
        const c = new BrokerClient(
          set.urls[i % 3],
          await readTokenDir(userDir),
        );
        try {
          ids.push(
            (await c.submit(
              `Executable = "/bin/sh"; Arguments = "-c 'echo job ${i}'"; TTL = 600;`,
            )).jobId,
          );
        } finally {
          c.close();
        }
      }
      assertEquals(new Set(ids).size, JOBS);
      for (const site of ["site-a", "site-b"]) {
        const tokenDir = `${dir}/tokens/${site}`;
        await writeTokenDir(
          tokenDir,
          await issuer.issue({
            role: "JOB_AGENT",
            subject: site,
            ttlSeconds: 3600,
          }),
          ca.certPem,
        );
        const { cmd, args } = agentCommand({
          broker: set.urls.join(","),
          tokenDir,
          workRoot: `${dir}/work-${site}`,
          containers: "none",
          extraArgs: [
            "--max-empty",
            "3",
            "--heartbeat",
            "2",
            "--cores",
            "4",
            "--ttl",
            "3600",
            "--site",
            site,
          ],
        });
        const child = new Deno.Command(cmd, {
          args,
          stdin: "null",
          stdout: "null",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).spawn();
        agents.push(child);
        logs.push(new Response(child.stderr).text());
      }
      store = await PostgresJobStore.open(db);
      const done = async () =>
        (await store!.countJobs()).filter((c) => FINAL_STATES.has(c.state))
          .reduce((n, c) => n + c.n, 0);
      // A stall names its cause: the agents' logs (they may have exited).
      const until = async (what: string, n: number) => {
        try {
          await eventually(what, async () => await done() >= n, 300_000, 200);
        } catch (e) {
          for (const a of agents) {
            try {
              a.kill("SIGKILL");
            } catch { /* exited */ }
          }
          const tails = (await Promise.all(logs)).map((l) => l.slice(-4000));
          throw new Error(
            `${(e as Error).message}\n${tails.join("\n----\n")}`,
          );
        }
      };
      await until("a quarter of the jobs final", JOBS / 4);
      await set.kill(0);
      await until("half of the jobs final", JOBS / 2);
      await set.restart(1);
      for (const [i, a] of agents.entries()) {
        const status = await a.status;
        assertEquals(status.code, 0, (await logs[i]).slice(-3000));
      }
      const jobs = await store.list({ limit: 10_000 });
      assertEquals(jobs.length, JOBS);
      const notFinal = jobs.filter((j) => !FINAL_STATES.has(j.state));
      assertEquals(notFinal.map((j) => `${j.id}:${j.state}`), [], "all final");
      for (const j of jobs) {
        const trace = await store.trace(j.id);
        // Audit verdicts are trace lines in the same state, not moves.
        const doneEntries = trace.filter((e) =>
          e.state === "DONE" && !e.reason.startsWith(AUDIT_PREFIX)
        );
        const assigned = trace.filter((e) => e.state === "ASSIGNED");
        assertEquals(j.state, "DONE", `job ${j.id}: ${JSON.stringify(trace)}`);
        assertEquals(doneEntries.length, 1, `job ${j.id} DONE once`);
        assertEquals(
          assigned.length,
          1,
          `job ${j.id} handed out once: ${JSON.stringify(assigned)}`,
        );
      }
      // Both agents worked, through the replicas left.
      const actors = new Set(
        (await Promise.all(jobs.map((j) => store!.trace(j.id))))
          .flat().filter((e) => e.state === "ASSIGNED").map((e) => e.actor),
      );
      assertEquals(
        [...actors].sort(),
        ["JOB_AGENT:site-a", "JOB_AGENT:site-b"],
      );
    } finally {
      for (const a of agents) {
        try {
          a.kill("SIGKILL");
        } catch { /* exited */ }
        await a.status;
      }
      user?.close();
      await store?.close();
      await set.stop();
      await pg.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
