/**
 * `deno task splitpilot …` runs in the repository, yet relative paths are
 * the user's: the launcher takes them from INIT_CWD, which `deno task`
 * sets to where it was started.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { cacheEnv, ROOT } from "./_cli.ts";

async function task(cwd: string, home: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "--quiet",
      "--config",
      `${ROOT}/deno.json`,
      "splitpilot",
      ...args,
    ],
    cwd,
    clearEnv: true,
    env: {
      HOME: home,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      NO_COLOR: "1",
      ...cacheEnv(),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

Deno.test("deno task splitpilot: relative paths resolve against the user's directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-task-" });
  const name = `st-${crypto.randomUUID().slice(0, 8)}`;
  let r = await task(dir, dir, "ca", "init", "--state", name);
  assertEquals(r.code, 0, r.stderr);
  assert((await Deno.stat(`${dir}/${name}/ca/ca.key`)).isFile);
  await Deno.stat(`${ROOT}/${name}`).then(
    () => assert(false, "written into the checkout"),
    () => {},
  );
  r = await task(
    dir,
    dir,
    "token",
    "issue",
    "--state",
    name,
    "--role",
    "USER",
    "--subject",
    "jdoe",
    "--ttl",
    "1h",
    "--out",
    "tok",
  );
  assertEquals(r.code, 0, r.stderr);
  r = await task(
    dir,
    dir,
    "token",
    "show",
    "tok/cert.pem",
    "--ca",
    `${name}/ca/ca.pem`,
  );
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "CN=jdoe");
  await Deno.remove(dir, { recursive: true });
});
