/**
 * `GET /metrics` through real mutual TLS: admin USER tokens only, and the
 * numbers follow what the broker did (jobs by state and user, matches,
 * submissions, tokens, requests by route and status, agents by site and
 * CE, store latency).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { BrokerError } from "../src/client/broker_client.ts";
import { startGrid } from "./_grid.ts";

Deno.test("metrics: admin only; jobs by state and user, matches, agents, latency", async () => {
  const grid = await startGrid();
  try {
    const adminDir = await grid.token("admin", {
      role: "USER",
      subject: "ops",
      admin: true,
      ttlSeconds: 600,
    });
    const admin = await grid.client(adminDir);
    const scrape = async () =>
      await (await admin.request("GET", "/metrics")).text();
    for (const c of [grid.user, await grid.client(grid.agentTokenDir)]) {
      try {
        await c.request("GET", "/metrics");
        throw new Error("not refused");
      } catch (e) {
        assert(e instanceof BrokerError && e.status === 403, String(e));
      }
    }
    const id = await grid.submit(`Executable = "/bin/true"; TTL = 600;`);
    await grid.submit(`Executable = "/bin/true"; TTL = 600;`);
    const agent = await grid.client(grid.agentTokenDir);
    const m = await agent.json<{ jobId: string }>("POST", "/api/v1/match", {
      site: "CERN",
      ce: "CERN::ce01",
      cpuCores: 4,
      ttl: 3600,
    });
    assert(m?.jobId);
    await agent.json("POST", "/api/v1/match", {
      site: "CERN",
      ce: "CERN::ce01",
      cpuCores: 4,
      ttl: 1,
    });
    await grid.user.json("POST", `/api/v1/jobs/${id}/kill`).catch(() => {});
    const text = await scrape();
    const lines = text.split("\n");
    const has = (l: string) => assert(lines.includes(l), `${l}\n---\n${text}`);
    has('splitpilot_jobs{state="WAITING"} 1');
    has('splitpilot_user_jobs{user="jdoe",state="WAITING"} 1');
    has("splitpilot_submissions_total 2");
    has('splitpilot_matches_total{result="job"} 1');
    has('splitpilot_matches_total{result="empty"} 1');
    has('splitpilot_tokens_issued_total{role="JOB"} 1');
    has('splitpilot_agents{site="CERN",ce="CERN::ce01"} 1');
    has('splitpilot_agent_cores{site="CERN",ce="CERN::ce01"} 4');
    has("splitpilot_match_seconds_count 2");
    has('splitpilot_request_seconds_count{route="submit",status="201"} 2');
    has('splitpilot_request_seconds_count{route="metrics",status="403"} 2');
    assertStringIncludes(text, 'splitpilot_store_seconds_count{op="claim"}');
    assertStringIncludes(
      text,
      "# TYPE splitpilot_sweeper_actions_total counter",
    );
    assertEquals(
      (await admin.request("GET", "/metrics")).headers.get("content-type"),
      "text/plain; version=0.0.4",
    );
  } finally {
    await grid.close();
  }
});
