import { assertEquals, assertThrows } from "@std/assert";
import { dropArgv, parsePayloadUser, payloadUserFor } from "./payload_user.ts";

Deno.test("payload user: parsing refuses names, root and junk with one line", () => {
  assertEquals(parsePayloadUser("1234"), { uid: 1234, gid: 1234 });
  assertEquals(parsePayloadUser("1234:99"), { uid: 1234, gid: 99 });
  for (const bad of ["nobody", "0", "0:0", "12:0", "-1", "1:2:3", ""]) {
    assertThrows(() => parsePayloadUser(bad), TypeError, "--payload-user");
  }
});

Deno.test("payload user: switched for bwrap/none/docker/singularity/apptainer as root and always for podman", () => {
  const u = { uid: 4242, gid: 4343 };
  assertEquals(payloadUserFor("bwrap", { asRoot: true, user: u }), u);
  assertEquals(payloadUserFor("none", { asRoot: true }), {
    uid: 65534,
    gid: 65534,
  });
  assertEquals(payloadUserFor("bwrap", { asRoot: false, user: u }), undefined);
  assertEquals(payloadUserFor("podman", { asRoot: false, user: u }), u);
  assertEquals(payloadUserFor("docker", { asRoot: true, user: u }), u);
  assertEquals(payloadUserFor("docker", { asRoot: false, user: u }), undefined);
  for (const rt of ["singularity", "apptainer"]) {
    assertEquals(payloadUserFor(rt, { asRoot: true, user: u }), u);
    assertEquals(payloadUserFor(rt, { asRoot: false, user: u }), undefined);
  }
  assertEquals(
    dropArgv(u, ["/bin/true"]),
    [
      "/usr/bin/setpriv",
      "--reuid",
      "4242",
      "--regid",
      "4343",
      "--clear-groups",
      "--inh-caps=-all",
      "--",
      "/bin/sh",
      "-c",
      'umask 002 && exec "$@"',
      "splitpilot-payload",
      "/bin/true",
    ],
  );
});
