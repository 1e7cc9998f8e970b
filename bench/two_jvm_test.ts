import { assertEquals, assertGreater } from "@std/assert";
import type { MatchedJob } from "../src/agent/run_wrapper.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { startBenchGrid } from "./_bench_grid.ts";
import { parseLaunchLine, prepareTwoJvm, startAgentJvm } from "./two_jvm.ts";

Deno.test("parseLaunchLine: nanosecond timestamps to ms", () => {
  assertEquals(
    parseLaunchLine("launch 1700000000000000000 1700000000061500000 0"),
    { launchMs: 61.5, exitCode: 0 },
  );
  assertEquals(parseLaunchLine("launch 1 - 3")?.exitCode, 3);
  assertEquals(Number.isNaN(parseLaunchLine("launch 1 - 3")!.launchMs), true);
  assertEquals(parseLaunchLine("wrapper-pid 12"), undefined);
});

Deno.test("two-JVM baseline compiles and runs timed payloads", async () => {
  const jvm = await prepareTwoJvm();
  if (typeof jvm === "string") {
    // No JDK here: the harness prints this same reason as a skip note.
    assertEquals(jvm.startsWith("skipped: "), true);
    return;
  }
  try {
    const agent = startAgentJvm(jvm, { payload: ["/bin/date", "+%s%N"] });
    const jobs = [
      await agent.runJob({ id: "1" }),
      await agent.runJob({ id: "2" }),
    ];
    await agent.close();
    assertEquals(jobs.map((j) => j.exitCode), [0, 0]);
    for (const j of jobs) {
      assertGreater(j.launchMs, 0);
      assertGreater(5000, j.launchMs);
    }
  } finally {
    await jvm.close();
  }
});

Deno.test("two-JVM wrapper reports to a real broker over mTLS", async () => {
  const jvm = await prepareTwoJvm();
  if (typeof jvm === "string") {
    assertEquals(jvm.startsWith("skipped: "), true);
    return;
  }
  const grid = await startBenchGrid();
  try {
    const [id] = await grid.submit(
      `Executable = "/bin/date";\nArguments = "+%s%N";\nTTL = 60;\n`,
    );
    const job = await grid.agent.json<MatchedJob>("POST", "/api/v1/match", {
      ce: "local::ce",
      site: "local",
      ttl: 3600,
      cpuCores: 1,
      containers: ["none"],
    });
    assertEquals(job?.jobId, id);
    const tokenDir = `${grid.dir}/job-token`;
    await writeTokenDir(tokenDir, job!.token, job!.token.caPem);
    const agent = startAgentJvm(jvm, { payload: ["/bin/date", "+%s%N"] });
    const result = await agent.runJob({ id, tokenDir, broker: grid.url });
    await agent.close();
    assertEquals(result.exitCode, 0);
    assertGreater(result.launchMs, 0);
    const state = await grid.user.json<{ state: string }>(
      "GET",
      `/api/v1/jobs/${id}`,
    );
    assertEquals(state?.state, "DONE");
    assertEquals(grid.counts.get("job status"), 4);
  } finally {
    await grid.close();
    await jvm.close();
  }
});
