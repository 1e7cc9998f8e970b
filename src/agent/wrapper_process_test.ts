import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import type { Launch } from "./wrapper_launch.ts";
import { spawnWrapper } from "./wrapper_process.ts";

function launch(argv: string[], env: Record<string, string> = {}): Launch {
  return {
    argv,
    spec: { argv: [], sandbox: "/", binds: [], env, network: "host" },
    denoFlags: [],
  };
}

Deno.test("spawnWrapper: a clean environment, the sandbox as cwd, stderr's tail kept", async () => {
  const sandbox = await Deno.makeTempDir({ prefix: "splitpilot-wp-" });
  try {
    const w = spawnWrapper(
      launch(["/bin/sh", "-c", 'echo "$FOO $HOME $(pwd)" >&2; exit 3'], {
        FOO: "bar",
      }),
      sandbox,
      false,
    );
    await w.child.stdin.close();
    await w.child.stdout.cancel();
    assertEquals((await w.child.status).code, 3);
    await w.stderrDone;
    // HOME is not passed on: only the launch's own environment.
    assertEquals(w.stderrTail(), `bar  ${await Deno.realPath(sandbox)}\n`);
  } finally {
    await Deno.remove(sandbox, { recursive: true });
  }
});

Deno.test("spawnWrapper: only the last 4 KiB of stderr are kept", async () => {
  const w = spawnWrapper(
    launch([
      "/bin/sh",
      "-c",
      "i=0; while [ $i -lt 600 ]; do echo line$i >&2; i=$((i+1)); done",
    ]),
    "/",
    false,
  );
  await w.child.stdin.close();
  await w.child.stdout.cancel();
  await w.child.status;
  await w.stderrDone;
  assertEquals(w.stderrTail().length, 4096);
  assertStringIncludes(w.stderrTail(), "line599\n");
});

Deno.test("spawnWrapper: a program that cannot start throws (the caller reports ERROR_A)", () => {
  assertThrows(() =>
    spawnWrapper(launch(["/nonexistent/wrapper"]), "/", false)
  );
});
