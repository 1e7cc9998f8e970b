/**
 * startJob with fakes: a fake BrokerClient that records the setup-failure
 * report, and the real `none` driver for the one job that starts.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import type { BrokerClient } from "../client/broker_client.ts";
import { createDriver } from "../container/select.ts";
import type { MatchedJob } from "./matched_job.ts";
import { type JobStartContext, startJob } from "./job_start.ts";
import { sourceWrapperProgram } from "./wrapper_launch.ts";

function fakeBroker() {
  const job = { state: "ASSIGNED", resubmissions: 0 };
  const reports: unknown[] = [];
  const client = {
    json: <T>(method: string, _path: string, body?: unknown) => {
      if (method === "GET") return Promise.resolve({ ...job } as T);
      reports.push(body);
      job.state = (body as { state: string }).state;
      return Promise.resolve({ state: job.state } as T);
    },
  } as unknown as BrokerClient;
  return { client, reports, job };
}

async function context(driverName: "none" | "bwrap" = "none") {
  const workRoot = await Deno.makeTempDir({ prefix: "splitpilot-start-" });
  const broker = fakeBroker();
  const faults: string[] = [];
  const logs: string[] = [];
  const ctx: JobStartContext = {
    opts: { broker: "https://127.0.0.1:1", tokenDir: "/nonexistent", workRoot },
    runtime: { driver: createDriver(driverName) },
    program: sourceWrapperProgram(),
    brokerAddr: "127.0.0.1:1",
    cores: 1,
    ttlGrace: 60,
    reports: { broker: broker.client, log: (l) => logs.push(l) },
    runtimeFailed: (r) => void faults.push(r),
    log: (l) => void logs.push(l),
  };
  return { ctx, broker, faults, logs, workRoot };
}

function matched(jdl: string): MatchedJob {
  return {
    jobId: "3",
    jdl,
    user: "alice",
    ttl: 60,
    resubmission: 0,
    token: { certPem: "c", keyPem: "k", caPem: "a" },
  };
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("startJob: an unreadable JDL fails the job (ERROR_A reported), not the runtime", async () => {
  const { ctx, broker, faults, workRoot } = await context();
  const sandbox = `${workRoot}/job-3`;
  try {
    const started = await startJob(ctx, matched("Executable = ;"), sandbox);
    assertEquals(started, undefined);
    assertEquals(faults, []);
    assertEquals(broker.job.state, "ERROR_A");
    assertStringIncludes(
      (broker.reports[0] as { message: string }).message,
      "wrapper not started",
    );
    assertEquals(await exists(sandbox), false);
  } finally {
    await Deno.remove(workRoot, { recursive: true });
  }
});

Deno.test("startJob: an image the agent cannot provide counts against the runtime", async () => {
  // bwrap runs directory images; with no software dir there is none.
  const { ctx, broker, faults, workRoot } = await context("bwrap");
  const sandbox = `${workRoot}/job-3`;
  try {
    const started = await startJob(
      ctx,
      matched('Executable = "/bin/true";\nContainer = "el9";'),
      sandbox,
    );
    assertEquals(started, undefined);
    assertEquals(faults.length, 1);
    assertStringIncludes(faults[0], "this agent has no software dir");
    assertEquals(broker.job.state, "ERROR_A");
    assertEquals(await exists(sandbox), false);
  } finally {
    await Deno.remove(workRoot, { recursive: true });
  }
});

Deno.test("startJob: a good job gets its sandbox, limits and launch; nothing is reported", async () => {
  const { ctx, broker, faults, workRoot } = await context();
  const sandbox = `${workRoot}/job-3`;
  try {
    const started = await startJob(
      ctx,
      matched('Executable = "/bin/true";\nTTL = 120;\nCPUCores = 1;'),
      sandbox,
    );
    assert(started !== undefined);
    try {
      assertEquals(started.jd.cpuCores, 1);
      assert(started.launch.argv.length > 0);
      assertEquals((await Deno.stat(sandbox)).mode! & 0o777, 0o700);
      assertEquals([faults, broker.reports], [[], []]);
    } finally {
      await started.hold.release();
    }
  } finally {
    await Deno.remove(workRoot, { recursive: true });
  }
});
