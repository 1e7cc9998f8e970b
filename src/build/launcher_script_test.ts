import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  launcherFlags,
  renderLauncher,
  RUN_MARK,
  WORKDIR_MARK,
} from "./launcher_script.ts";
import { templatePermissions } from "./build_artefacts.ts";

async function shSyntaxOk(text: string): Promise<string> {
  const r = await new Deno.Command("/bin/sh", {
    args: ["-n"],
    stdin: "piped",
    stderr: "piped",
  }).spawn();
  const w = r.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await r.output();
  return new TextDecoder().decode(out.stderr);
}

Deno.test("renderLauncher: valid sh for every role, flags quoted with ${sp_w}", async () => {
  for (const role of ["agent", "wrapper", "broker"] as const) {
    const text = renderLauncher({
      role,
      permissions: templatePermissions(role, "127.0.0.1:8443"),
      bundle: `${role}.js`,
      fixedArgs: ["--workdir", WORKDIR_MARK],
      runListFile: ".splitpilot/allow-run",
      broker: "127.0.0.1:8443",
    });
    assertEquals(await shSyntaxOk(text), "", role);
    assertStringIncludes(text, "# broker: 127.0.0.1:8443");
    assertStringIncludes(text, 'exec env -i "$@"');
    assertEquals(text.includes(WORKDIR_MARK), false);
  }
});

Deno.test("launcherFlags: the run mark never becomes a bare --allow-run", () => {
  const flags = launcherFlags(templatePermissions("wrapper", "h:1"));
  assertEquals(flags.filter((f) => f.startsWith("--allow-run")), []);
  assertThrows(
    () =>
      launcherFlags({
        net: [],
        read: [],
        write: [],
        run: [RUN_MARK, "/bin/sh"],
        env: [],
      }),
    TypeError,
    "RUN_MARK must be the only entry",
  );
});

Deno.test("renderLauncher: refuses control characters and bad env names", () => {
  const base = {
    role: "broker" as const,
    permissions: templatePermissions("broker", "h:1"),
    bundle: "broker.js",
    fixedArgs: [],
    broker: "h:1",
  };
  assertThrows(
    () => renderLauncher({ ...base, fixedArgs: ["a\nb"] }),
    TypeError,
    "control character",
  );
  assertThrows(
    () =>
      renderLauncher({
        ...base,
        permissions: { ...base.permissions, env: ["A B"] },
      }),
    TypeError,
    "expected a variable name",
  );
});
