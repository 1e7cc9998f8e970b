import { assertEquals, assertThrows } from "@std/assert";
import {
  agentPermissions,
  brokerPermissions,
  toDenoFlags,
  wrapperPermissions,
} from "./table.ts";

Deno.test("wrapper row: no network at all, read/write only the sandbox", () => {
  const flags = toDenoFlags(wrapperPermissions({
    sandbox: "/workdir",
    payload: ["/bin/sh", "/bin/sh"],
  }));
  assertEquals(flags, [
    "--allow-read=/workdir",
    "--allow-write=/workdir",
    "--allow-run=/bin/sh",
    "--allow-env=HOME,PATH,TMPDIR,SPLITPILOT_*,NO_COLOR",
  ]);
});

Deno.test("an empty list yields no flag at all, never a bare --allow-x", () => {
  const flags = toDenoFlags(
    brokerPermissions({ listen: "127.0.0.1:1", stateDir: "/s" }),
  );
  assertEquals(flags.some((f) => f.startsWith("--allow-run")), false);
  assertEquals(flags.every((f) => f.includes("=")), true);
});

Deno.test("agent row: launcher and its helpers only, no /proc, work root writable", () => {
  const p = agentPermissions({
    broker: "h:1",
    tokenDir: "/t",
    workRoot: "/w",
    wrapperProgram: ["/p/wrapper.ts"],
    deno: "/usr/bin/deno",
    launchers: ["/usr/bin/bwrap"],
    helpers: ["/h/splitpilot-procfs", "/h/splitpilot-kill", "/h/splitpilot-du"],
  });
  assertEquals(p.run, [
    "/usr/bin/bwrap",
    "/h/splitpilot-procfs",
    "/h/splitpilot-kill",
    "/h/splitpilot-du",
  ]);
  assertEquals(p.write, ["/w"]);
  assertEquals(p.read.includes("/proc"), false);
  assertEquals(p.run.includes("/bin/sh"), false);
  assertEquals(p.net, ["h:1"]);
});

Deno.test("a comma inside an entry is refused (it would widen the list)", () => {
  assertThrows(
    () =>
      toDenoFlags(wrapperPermissions({
        broker: "h:1",
        sandbox: "/a,/etc",
        payload: [],
      })),
    TypeError,
    "contains a comma",
  );
});

Deno.test("wrapper row, direct (comparison benchmarks only): net only to the broker", () => {
  const p = wrapperPermissions({
    broker: "127.0.0.1:8443",
    sandbox: "/workdir",
    payload: [],
  });
  assertEquals(p.net, ["127.0.0.1:8443"]);
});
