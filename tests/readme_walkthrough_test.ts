/**
 * README, "Submitting and following jobs", run word by word: its `sh`
 * blocks, in order, as one bash script, from a fresh directory outside the
 * repository with a fresh HOME. Only two things change: the checkout path
 * on the `SPLITPILOT_REPO=` line and the port 8443 (a free one, since other
 * tests run beside this one). The README cannot drift from the code.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { cacheEnv, freePort, ROOT } from "./_cli.ts";

const SECTION = "### Submitting and following jobs";

/** The section's `sh` blocks, in order. */
export function walkthroughBlocks(readme: string): string[] {
  const start = readme.indexOf(SECTION);
  assert(start >= 0, `README has no "${SECTION}" section`);
  const rest = readme.slice(start + SECTION.length);
  const end = rest.search(/\n#{2,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** The script the test runs, with the two substitutions. */
export function walkthroughScript(
  readme: string,
  repo: string,
  port: number,
): string {
  const script = walkthroughBlocks(readme).join("\n");
  assertMatch(
    script,
    /^SPLITPILOT_REPO=~\/splitpilot\b/m,
    "the first line names the checkout",
  );
  assertStringIncludes(script, "8443");
  return script
    .replace(/^SPLITPILOT_REPO=~\/splitpilot\b/m, `SPLITPILOT_REPO=${repo}`)
    .replaceAll("8443", String(port));
}

Deno.test("README walk-through: the section covers what a new user needs", async () => {
  const script = walkthroughBlocks(await Deno.readTextFile(`${ROOT}/README.md`))
    .join("\n");
  for (
    const step of [
      /splitpilot ca init /,
      /splitpilot token issue .*--role USER/,
      /splitpilot token issue .*--role JOB_AGENT/,
      /broker = https:\/\/localhost:/,
      /splitpilot broker serve .*--listen localhost:/,
      /splitpilot put /,
      /splitpilot submit /,
      /splitpilot ps/,
      /splitpilot kill /,
      /splitpilot resubmit /,
      /splitpilot agent /,
      /splitpilot trace /,
      /splitpilot get "\$ID"/,
      /splitpilot get \/jdoe\//,
      /splitpilot audit results\/audit\.jsonl\.gz --role wrapper/,
      /splitpilot ls /,
      /splitpilot cat /,
      /splitpilot rm /,
    ]
  ) assertMatch(script, step);
  assert(!/127\.0\.0\.1:8443/.test(script), "the broker is reached by name");
});

Deno.test("README walk-through: runs word by word from a directory outside the repo", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-readme-" });
  const home = `${dir}/home`;
  await Deno.mkdir(home);
  const port = freePort();
  const script = walkthroughScript(
    await Deno.readTextFile(`${ROOT}/README.md`),
    ROOT,
    port,
  );
  await Deno.writeTextFile(`${dir}/walkthrough.sh`, script);
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      // Stops the broker even when a step fails.
      `set -euo pipefail; trap 'kill $(jobs -p) 2>/dev/null || true' EXIT; source ${dir}/walkthrough.sh`,
    ],
    cwd: dir,
    clearEnv: true,
    env: {
      HOME: home,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      NO_COLOR: "1",
      // The user's caches: npx's Deno and Deno's npm packages, already here.
      ...cacheEnv(),
      ...(Deno.env.get("USE_CONTAINERS")
        ? { USE_CONTAINERS: Deno.env.get("USE_CONTAINERS")! }
        : {}),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const logs = async (f: string) =>
    await Deno.readTextFile(`${home}/sp-demo/${f}`).catch(() => "");
  assertEquals(
    out.code,
    0,
    `walk-through failed\nstdout:\n${stdout}\nstderr:\n${stderr}\nbroker.log:\n${await logs(
      "broker.log",
    )}\nagent.log:\n${await logs("agent.log")}`,
  );
  // It ran where the user was, not in the checkout.
  const results = `${home}/sp-demo/results`;
  assertEquals(
    (await Array.fromAsync(Deno.readDir(results))).map((e) => e.name).sort(),
    [".accounting.json", "audit.jsonl.gz", "stderr", "stdout", "summary.txt"],
  );
  assertStringIncludes(
    stdout,
    await Deno.readTextFile(`${results}/summary.txt`),
  );
  assertEquals(
    await Deno.readTextFile(`${home}/sp-demo/inputs/input.txt`),
    await Deno.readTextFile(`${ROOT}/jobs/input.txt`),
  );
  // kill, then resubmit, then DONE, in the trace.
  assertMatch(
    stdout,
    /KILLED\s+USER:jdoe[\s\S]*WAITING\s+USER:jdoe\s+resubmitted[\s\S]*DONE/,
  );
  for (const f of ["results", "inputs", "job-1"]) {
    await Deno.stat(`${ROOT}/${f}`).then(
      () => assert(false, `${f} was written into the checkout`),
      () => {},
    );
  }
  await Deno.remove(dir, { recursive: true });
});
