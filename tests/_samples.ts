/**
 * The demo's three sample jobs (`jobs/`) as a reusable E2E suite: upload
 * their inputs, submit them, and check what a correct run leaves behind.
 * Used by every E2E variant (sources, built artefacts, each runtime).
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import type { Grid } from "./_grid.ts";

/** Re-exported so E2E tests need one import for the suite. */
export { sandboxesLeft } from "./_agent_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The sample JDL files, in submission order. */
export const SAMPLES = ["hello.jdl", "analyse.jdl", "fail.jdl"] as const;

/** Uploads the inputs and submits the samples; returns file → job ID. */
export async function submitSamples(
  grid: Grid,
): Promise<Record<string, string>> {
  for (const f of ["analyse.sh", "input.txt"]) {
    await grid.user.upload(
      `/jdoe/demo/${f}`,
      await Deno.readFile(`${ROOT}jobs/${f}`),
    );
  }
  const ids: Record<string, string> = {};
  for (const f of SAMPLES) {
    ids[f] = await grid.submit(await Deno.readTextFile(`${ROOT}jobs/${f}`));
  }
  return ids;
}

/** One output file of a job, as text. */
export async function jobOutput(
  grid: Grid,
  id: string,
  name: string,
): Promise<string> {
  return await (await grid.user.download(`/jdoe/jobs/${id}/${name}`)).text();
}

/**
 * Checks the samples' final states and outputs: hello and analyse DONE
 * with their outputs, fail ERROR_E with exit code 3 and its stderr.
 */
export async function assertSamplesRan(
  grid: Grid,
  ids: Record<string, string>,
  agentLog: string,
): Promise<void> {
  const job = async (id: string) =>
    (await grid.user.json<{ state: string; exitCode: number }>(
      "GET",
      `/api/v1/jobs/${id}`,
    ))!;
  assertEquals((await job(ids["hello.jdl"])).state, "DONE", agentLog);
  assertEquals((await job(ids["analyse.jdl"])).state, "DONE", agentLog);
  const failed = await job(ids["fail.jdl"]);
  assertEquals([failed.state, failed.exitCode], ["ERROR_E", 3]);
  assertEquals(
    await jobOutput(grid, ids["analyse.jdl"], "summary.txt"),
    "lines 3\nwords 6\n",
  );
  assertStringIncludes(
    await jobOutput(grid, ids["hello.jdl"], "result.txt"),
    `hello from job ${ids["hello.jdl"]}`,
  );
  assertEquals(
    await jobOutput(grid, ids["fail.jdl"], "stderr"),
    "about to fail\n",
  );
}
