/**
 * The agent runs its container launcher and its three helpers, nothing
 * else: no shell, no `/bin/kill`, no other program (NotCapable), with the
 * exact flags the table gives a source agent.
 */
import { assertEquals } from "@std/assert";
import { agentPermissions, toDenoFlags } from "../src/permissions/table.ts";
import { agentLaunchers } from "../src/launch/role_process.ts";
import { agentHelpers } from "../src/watchdog/helpers.ts";

Deno.test("agent: anything but its launcher and helpers is NotCapable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-helpers-" });
  try {
    const set = agentPermissions({
      broker: "127.0.0.1:1",
      tokenDir: `${dir}/token`,
      workRoot: `${dir}/work`,
      wrapperProgram: [],
      deno: Deno.execPath(),
      launchers: agentLaunchers("none"),
    });
    assertEquals(set.run, [...agentLaunchers("none"), ...agentHelpers()]);
    for (const p of set.run) {
      assertEquals(/\/(ba|da)?sh$|\/kill$/.test(p), false, p);
    }
    assertEquals(set.read.includes("/proc"), false);
    const probe = `${dir}/probe.ts`;
    await Deno.writeTextFile(
      probe,
      `const out: Record<string, string> = {};
for (const p of Deno.args) {
  try {
    const r = await new Deno.Command(p, { args: p.endsWith("splitpilot-du") ? ["/nonexistent"] : [], stdin: "null", stdout: "null", stderr: "null" }).output();
    out[p] = "ran " + r.code;
  } catch (e) { out[p] = (e as Error).name; }
}
console.log(JSON.stringify(out));`,
    );
    const others = ["/bin/sh", "/usr/bin/sh", "/bin/kill", "/usr/bin/id"];
    const du = agentHelpers().find((h) => h.endsWith("splitpilot-du"))!;
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--no-config",
        ...toDenoFlags(set),
        `--allow-read=${probe}`,
        probe,
        ...others,
        du,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = JSON.parse(new TextDecoder().decode(r.stdout));
    for (const p of others) assertEquals(out[p], "NotCapable", p);
    assertEquals(out[du], "ran 0");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
