/**
 * Many agents matching at once against one broker process over real
 * mutual-TLS HTTPS: every job is handed out exactly once, to the agent the
 * broker recorded.
 */
import { assertEquals } from "@std/assert";
import type { BrokerClient } from "../src/client/broker_client.ts";
import { startGrid } from "./_grid.ts";

const JOBS = 240;
const AGENTS = 6;
const LOOPS_PER_AGENT = 4;

Deno.test("concurrent matches from several agents: every job handed out once", async () => {
  const grid = await startGrid({ process: true });
  try {
    const submitted: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < JOBS) {
        const i = next++;
        // Varied requirements, so classes and heads change under the race.
        const req = [
          "",
          'Requirements = other.Site == "A" || other.Site == "B";',
          `CPUCores = ${1 + (i % 2)};`,
          'Requirements = other.Site != "Z";',
        ][i % 4];
        submitted.push(
          await grid.submit(
            `Executable = "/bin/true"; Arguments = "${i}"; ${req}`,
          ),
        );
      }
    }));
    assertEquals(new Set(submitted).size, JOBS);
    const agents: { name: string; client: BrokerClient }[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const name = `site-${i}`;
      const dir = await grid.token(name, {
        role: "JOB_AGENT",
        subject: name,
        ttlSeconds: 600,
      });
      agents.push({ name, client: await grid.client(dir) });
    }
    const handed = new Map<string, string[]>();
    await Promise.all(
      agents.flatMap(({ name, client }) =>
        Array.from({ length: LOOPS_PER_AGENT }, async () => {
          while (true) {
            const m = await client.json<{ jobId: string }>(
              "POST",
              "/api/v1/match",
              { site: name.endsWith("0") ? "A" : "B", ttl: 86400, cpuCores: 2 },
            );
            if (!m) return;
            handed.set(m.jobId, [...(handed.get(m.jobId) ?? []), name]);
          }
        })
      ),
    );
    const twice = [...handed].filter(([, who]) => who.length > 1);
    assertEquals(twice, [], "no job went to two agents");
    assertEquals([...handed.keys()].sort(), [...submitted].sort());
    // The broker's record agrees with who got each job.
    const { jobs } = (await grid.user.json<
      { jobs: { id: string; state: string; agent: string }[] }
    >("GET", "/api/v1/jobs?limit=10000"))!;
    assertEquals(jobs.length, JOBS);
    for (const j of jobs) {
      assertEquals([j.state, j.agent], ["ASSIGNED", handed.get(j.id)![0]]);
    }
  } finally {
    await grid.close();
  }
});
