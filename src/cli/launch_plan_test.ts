import { assertEquals, assertStringIncludes } from "@std/assert";
import { flagValues, launchPlan } from "./launch_plan.ts";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-plan-" });
  await Deno.mkdir(`${dir}/home/.splitpilot`, { recursive: true });
  await Deno.mkdir(`${dir}/cwd`);
  await Deno.writeTextFile(
    `${dir}/home/.splitpilot/config`,
    "broker = https://localhost:8443, https://[::1]:9443\n",
  );
  await Deno.writeTextFile(`${dir}/cwd/job.jdl`, 'Executable = "/bin/true";\n');
  const env = (n: string) =>
    ({ HOME: `${dir}/home` } as Record<string, string>)[n];
  const ctx = {
    cwd: `${dir}/cwd`,
    deno: "/usr/bin/deno",
    root: "/repo",
    resolveHost: (n: string) =>
      Promise.resolve(n === "localhost" ? ["127.0.0.1"] : []),
  };
  return { dir, env, ctx };
}

Deno.test("launch plan: a user command may reach the configured brokers and read its token, nothing else", async () => {
  const { dir, env, ctx } = await setup();
  const plan = await launchPlan(["ps", "--json"], env, ctx);
  assertEquals(plan.permissions.net, ["localhost:8443", "[::1]:9443"]);
  assertEquals(plan.permissions.read, [
    `${dir}/home/.splitpilot/config`,
    `${dir}/home/.splitpilot/user`,
  ]);
  assertEquals(plan.permissions.write, []);
  assertEquals(plan.permissions.run, []);
  assertEquals(plan.cwd, ctx.cwd);
  assertEquals(plan.args.slice(-3), ["/repo/src/cli/main.ts", "ps", "--json"]);
  assertEquals(
    plan.args.includes("--allow-all") || plan.args.includes("-A"),
    false,
  );
});

Deno.test("launch plan: files named on the command line and the output dir, resolved against the user's directory", async () => {
  const { dir, env, ctx } = await setup();
  let plan = await launchPlan(["submit", "job.jdl"], env, ctx);
  assertEquals(plan.permissions.write, [`${dir}/cwd/job.jdl`]);
  plan = await launchPlan(["get", "42", "--out", "results/"], env, ctx);
  assertEquals(plan.permissions.write, [`${dir}/cwd/results`]);
  plan = await launchPlan(["get", "42"], env, ctx);
  assertEquals(plan.permissions.write, [`${dir}/cwd/job-42`]);
  plan = await launchPlan(["get", "/jdoe/demo/in.txt"], env, ctx);
  assertEquals(plan.permissions.write, [
    `${dir}/cwd/in.txt`,
    `${dir}/cwd/in.txt.part`,
  ]);
  // An LFN is not a local path.
  plan = await launchPlan(["cat", "/jdoe/demo/in.txt"], env, ctx);
  assertEquals(plan.permissions.write, []);
});

Deno.test("launch plan: broker serve gets the broker row, plus a name's addresses", async () => {
  const { dir, env, ctx } = await setup();
  let plan = await launchPlan(
    ["broker", "serve", "--state", "st", "--listen", "localhost:8443"],
    env,
    ctx,
  );
  assertEquals(plan.permissions.net, ["localhost:8443", "127.0.0.1:8443"]);
  assertEquals(plan.permissions.write, [`${dir}/cwd/st`]);
  assertEquals(plan.permissions.sys, ["hostname", "networkInterfaces"]);
  plan = await launchPlan(
    ["broker", "serve", "--state", "st", "--listen", "[::]:1"],
    env,
    ctx,
  );
  assertEquals(plan.permissions.net, ["[::]:1"]);
  // A value Deno could not parse as a permission is not handed to it.
  plan = await launchPlan(
    ["broker", "serve", "--state", "st", "--listen", "[::1:80"],
    env,
    ctx,
  );
  assertEquals(plan.permissions.net, []);
  plan = await launchPlan(["agent", "--token", "t", "--work", "w"], env, ctx);
  assertEquals(plan.permissions.run, ["/usr/bin/deno"]);
  assertEquals(plan.permissions.net, []);
  plan = await launchPlan(["ps", "--help"], env, ctx);
  assertEquals([plan.permissions.net, plan.permissions.read], [[], []]);
  assertStringIncludes(
    plan.args.join(" "),
    "--allow-env=HOME,SPLITPILOT_*,NO_COLOR",
  );
});

Deno.test("launch plan: flagValues reads both spellings and stops at --", () => {
  assertEquals(
    flagValues(["--out", "a", "--out=b", "--", "--out", "c"], "out"),
    ["a", "b"],
  );
});
