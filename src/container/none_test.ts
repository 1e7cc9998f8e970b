import { assertEquals, assertThrows } from "@std/assert";
import { ContainerError } from "./driver.ts";
import { NoneDriver } from "./none.ts";
import { goldenSpec } from "./_test_spec.ts";

const spec = goldenSpec({ image: undefined, binds: [], scratch: [] });

Deno.test("none: reaper argv (pid namespace, dies with the agent)", () => {
  const d = new NoneDriver();
  assertEquals(d.command(spec), [
    "/usr/bin/setpriv",
    "--pdeathsig",
    "KILL",
    "--",
    "/usr/bin/unshare",
    "--user",
    "--map-current-user",
    "--pid",
    "--fork",
    "--kill-child",
    "--",
    ...spec.argv,
  ]);
  assertEquals(d.capabilities.pidNamespace, true);
});

Deno.test("none: plain mode runs the argv as is, refuses images", () => {
  const d = new NoneDriver({ reaper: false });
  assertEquals(d.command(spec), spec.argv);
  assertEquals([d.binary, d.capabilities.pidNamespace], [undefined, false]);
  assertThrows(
    () => d.command(goldenSpec()),
    ContainerError,
    "cannot run image",
  );
});

Deno.test("none: as root the wrapper keeps only the payload-user caps, with no-new-privs", () => {
  const d = new NoneDriver();
  const user = { uid: 65534, gid: 65534 };
  assertEquals(d.command({ ...spec, payloadUser: user }), [
    "/usr/bin/setpriv",
    "--pdeathsig",
    "KILL",
    "--",
    "/usr/bin/unshare",
    "--pid",
    "--fork",
    "--kill-child",
    "--",
    "/usr/bin/setpriv",
    "--no-new-privs",
    "--inh-caps=-all",
    "--bounding-set=-all,+setuid,+setgid,+kill",
    "--",
    ...spec.argv,
  ]);
});
