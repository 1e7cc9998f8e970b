/**
 * End to end: real broker (own process, mTLS), real agent process, real
 * wrappers in bubblewrap (and without a container), real payloads.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { needs, startGrid } from "./_grid.ts";
import { assertSamplesRan, sandboxesLeft, submitSamples } from "./_samples.ts";

async function runSamples(containers: "bwrap" | "none") {
  const grid = await startGrid({ process: true });
  try {
    const ids = await submitSamples(grid);
    const agent = await grid.runAgent({ containers });
    assertEquals(agent.code, 0, agent.log);
    assertStringIncludes(agent.log, `container runtime: ${containers}`);
    await assertSamplesRan(grid, ids, agent.log);
    // OutputArchive: stdout/stderr of the hello job went into a real zip.
    const zip = await (await grid.user.download(
      `/jdoe/jobs/${ids["hello.jdl"]}/log_archive.zip`,
    )).bytes();
    await Deno.writeFile(`${grid.dir}/log_archive.zip`, zip);
    const unzip = await new Deno.Command("unzip", {
      args: ["-p", `${grid.dir}/log_archive.zip`, "stdout"],
    }).output();
    assertEquals(new TextDecoder().decode(unzip.stdout), "wrote result.txt\n");
    const trace = await grid.user.json<{ trace: { state: string }[] }>(
      "GET",
      `/api/v1/jobs/${ids["hello.jdl"]}/trace`,
    );
    assertEquals(trace!.trace.map((t) => t.state), [
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "RUNNING",
      "SAVING",
      "DONE",
      // The agent's permission audit of the wrapper (same state).
      "DONE",
    ]);
    const audit = trace!.trace.at(-1) as { state: string; reason: string };
    assertStringIncludes(audit.reason, "; 0 outside the table");
    // The agent removed every sandbox.
    assertEquals(await sandboxesLeft(`${grid.dir}/work`), []);
  } finally {
    await grid.close();
  }
}

Deno.test({
  name: "e2e: three sample jobs through broker, agent and wrapper in bwrap",
  ignore: needs("bwrap"),
  fn: () => runSamples("bwrap"),
});

Deno.test("e2e: three sample jobs with USE_CONTAINERS=none", () =>
  runSamples("none"));
