/**
 * End to end: real broker (own process, mTLS), real agent process, real
 * wrappers in bubblewrap (and without a container), real payloads.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { needs, startGrid } from "./_grid.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function runSamples(containers: "bwrap" | "none") {
  const grid = await startGrid({ process: true });
  try {
    for (const f of ["analyse.sh", "input.txt"]) {
      await grid.user.upload(
        `/jdoe/demo/${f}`,
        await Deno.readFile(`${ROOT}jobs/${f}`),
      );
    }
    const ids: Record<string, string> = {};
    for (const f of ["hello.jdl", "analyse.jdl", "fail.jdl"]) {
      ids[f] = await grid.submit(await Deno.readTextFile(`${ROOT}jobs/${f}`));
    }
    const agent = await grid.runAgent({ containers });
    assertEquals(agent.code, 0, agent.log);
    assertStringIncludes(agent.log, `container runtime: ${containers}`);
    const job = async (id: string) =>
      (await grid.user.json<{ state: string; exitCode: number }>(
        "GET",
        `/api/v1/jobs/${id}`,
      ))!;
    assertEquals((await job(ids["hello.jdl"])).state, "DONE", agent.log);
    assertEquals((await job(ids["analyse.jdl"])).state, "DONE", agent.log);
    const failed = await job(ids["fail.jdl"]);
    assertEquals([failed.state, failed.exitCode], ["ERROR_E", 3]);
    const summary = await (await grid.user.download(
      `/jdoe/jobs/${ids["analyse.jdl"]}/summary.txt`,
    )).text();
    assertEquals(summary, "lines 3\nwords 6\n");
    const result = await (await grid.user.download(
      `/jdoe/jobs/${ids["hello.jdl"]}/result.txt`,
    )).text();
    assertStringIncludes(result, `hello from job ${ids["hello.jdl"]}`);
    // OutputArchive: stdout/stderr of the hello job went into a real zip.
    const zip = await (await grid.user.download(
      `/jdoe/jobs/${ids["hello.jdl"]}/log_archive.zip`,
    )).bytes();
    await Deno.writeFile(`${grid.dir}/log_archive.zip`, zip);
    const unzip = await new Deno.Command("unzip", {
      args: ["-p", `${grid.dir}/log_archive.zip`, "stdout"],
    }).output();
    assertEquals(new TextDecoder().decode(unzip.stdout), "wrote result.txt\n");
    const stderr =
      await (await grid.user.download(`/jdoe/jobs/${ids["fail.jdl"]}/stderr`))
        .text();
    assertEquals(stderr, "about to fail\n");
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
    ]);
    // The agent removed every sandbox.
    const left = [];
    for await (const e of Deno.readDir(`${grid.dir}/work`)) {
      if (e.name.startsWith("job-")) left.push(e.name);
    }
    assertEquals(left, []);
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
