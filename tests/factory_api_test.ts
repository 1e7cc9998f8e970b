/**
 * The broker's factory endpoints through real mutual TLS: a site's HOST
 * token acts for its own site only, other roles are refused, demand counts
 * the WAITING jobs a slot fits, a pilot token is a working JOB_AGENT token
 * for that site, and reports show up in the site view.
 */
import { assert, assertEquals } from "@std/assert";
import {
  BrokerClient,
  BrokerError,
  readTokenDir,
} from "../src/client/broker_client.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { startGrid } from "./_grid.ts";

async function status(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof BrokerError) return `${e.status} ${e.reason}`;
    throw e;
  }
}

Deno.test("factory API: own site only, demand by slot, pilot tokens, site view", async () => {
  const grid = await startGrid();
  try {
    const hostDir = await grid.token("host-cern", {
      role: "HOST",
      subject: "CERN",
      ttlSeconds: 600,
    });
    const host = await grid.client(hostDir);
    const agent = await grid.client(grid.agentTokenDir);
    const demand = (c: BrokerClient, site: string, body: unknown) =>
      c.json<{ waiting: number }>(
        "POST",
        `/api/v1/factory/demand?site=${site}`,
        body,
      );

    // Who may ask.
    assertEquals(
      await status(demand(host, "CERN", { cores: 1, ttl: 3600 })),
      "ok",
    );
    assertEquals(
      await status(demand(host, "GSI", { cores: 1, ttl: 3600 })),
      "403 wrong_object",
    );
    assertEquals(
      await status(
        host.json("POST", "/api/v1/factory/demand", { cores: 1, ttl: 3600 }),
      ),
      "403 wrong_object",
    );
    assertEquals(
      await status(demand(grid.user, "CERN", { cores: 1, ttl: 1 })),
      "403 wrong_role",
    );
    assertEquals(
      await status(demand(agent, "CERN", { cores: 1, ttl: 1 })),
      "403 wrong_role",
    );
    assertEquals(
      await status(host.json("POST", "/api/v1/jobs", {})),
      "403 wrong_role",
    );
    assertEquals(
      await status(demand(host, "CERN", { cores: "x", ttl: 1 })),
      "400 bad_request",
    );

    // Demand: what fits the slot, site requirements included.
    for (let i = 0; i < 3; i++) {
      await grid.submit(`Executable = "/bin/true"; TTL = 600;`);
    }
    await grid.submit(`Executable = "/bin/true"; TTL = 600; CPUCores = 4;`);
    await grid.submit(`Executable = "/bin/true"; TTL = 7200;`);
    await grid.submit(
      `Executable = "/bin/true"; TTL = 600; Requirements = other.Site == "GSI";`,
    );
    const w = async (body: Record<string, unknown>) =>
      (await demand(host, "CERN", body))!.waiting;
    assertEquals(await w({ cores: 1, ttl: 3600 }), 3);
    assertEquals(await w({ cores: 4, ttl: 3600 }), 4);
    assertEquals(await w({ cores: 4, ttl: 86400 }), 5);
    assertEquals(await w({ cores: 1, ttl: 60 }), 0);

    // A pilot token needs published artefacts…
    assertEquals(
      await status(
        host.json("POST", "/api/v1/factory/pilot?site=CERN", { ttl: 600 }),
      ),
      "409 not_published",
    );
    await Deno.mkdir(`${grid.stateDir}/artefacts`, { recursive: true });
    for (const n of ["splitpilot-agent.run", "splitpilot-wrapper.run"]) {
      await Deno.writeTextFile(
        `${grid.stateDir}/artefacts/${n}`,
        `#!/bin/sh\n# ${n}\n`,
      );
    }
    assertEquals(
      await status(
        host.json("POST", "/api/v1/factory/pilot?site=CERN", { ttl: 10 ** 9 }),
      ),
      "400 bad_request",
    );
    const grant = (await host.json<{
      token: { certPem: string; keyPem: string; caPem: string };
      artefacts: { agent: string; wrapper: string };
    }>("POST", "/api/v1/factory/pilot?site=CERN", { ttl: 600 }))!;
    assert(/^[0-9a-f]{64}$/.test(grant.artefacts.agent));
    // …and is a JOB_AGENT token of that site that can match.
    const pilotDir = `${grid.dir}/tokens/pilot`;
    await writeTokenDir(pilotDir, grant.token, grant.token.caPem);
    const pilot = new BrokerClient(grid.url, await readTokenDir(pilotDir));
    try {
      const h = await pilot.json<{ role: string; subject: string }>(
        "GET",
        "/api/v1/health",
      );
      assertEquals([h!.role, h!.subject], ["JOB_AGENT", "CERN"]);
      const m = await pilot.json<{ jobId: string }>("POST", "/api/v1/match", {
        site: "CERN",
        cpuCores: 1,
        ttl: 3600,
      });
      assert(m?.jobId);
    } finally {
      pilot.close();
    }

    // Reports and the site view.
    await host.json("PUT", "/api/v1/factory/pilots?site=CERN", {
      batch: "slurm",
      pilots: { queued: 1, running: 2, finished: 3, failed: 1 },
      failures: [{ id: "17", reason: "NODE_FAIL", at: Date.now() }],
    });
    assertEquals(
      await status(host.json("PUT", "/api/v1/factory/pilots?site=CERN", {
        pilots: { queued: -1 },
      })),
      "400 bad_request",
    );
    const view = (await grid.user.json<{
      sites: {
        site: string;
        agents: number;
        jobsRunning: number;
        factory?: {
          pilots: Record<string, number>;
          failures: { reason: string }[];
        };
      }[];
    }>("GET", "/api/v1/sites"))!.sites;
    const cern = view.find((s) => s.site === "CERN")!;
    assertEquals(cern.factory!.pilots, {
      queued: 1,
      running: 2,
      finished: 3,
      failed: 1,
    });
    assertEquals(cern.factory!.failures[0].reason, "NODE_FAIL");
    assertEquals(cern.agents, 1);
    assertEquals(cern.jobsRunning, 1);
  } finally {
    await grid.close();
  }
});
