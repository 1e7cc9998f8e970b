import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { UsageError } from "./cli_io.ts";
import { defaultSans, listenError } from "./broker_cmd.ts";
import { parseListen } from "./listen.ts";

Deno.test("broker serve: --listen takes any address, IPv6 in brackets, or a name", () => {
  assertEquals(parseListen("0.0.0.0:8443"), {
    hostname: "0.0.0.0",
    port: 8443,
  });
  assertEquals(parseListen("[::]:8443"), { hostname: "::", port: 8443 });
  assertEquals(parseListen("[::1]:1"), { hostname: "::1", port: 1 });
  assertEquals(parseListen("broker.example.org:443"), {
    hostname: "broker.example.org",
    port: 443,
  });
  for (
    const bad of [
      "8443",
      "::1:8443",
      "[::1:80",
      "300.0.0.1:1",
      "1.2.3:4",
      "a_b:1",
      "h:65536",
      "h:",
      ":80",
      "h:-1",
      "h:1,evil:2",
    ]
  ) {
    assertThrows(() => parseListen(bad), UsageError, `--listen ${bad}`);
  }
});

Deno.test("broker serve: each listen failure is one line naming the address", () => {
  const err = (code: string) =>
    Object.assign(new Error(`listen ${code}`), { code });
  assertStringIncludes(
    listenError(err("EADDRINUSE"), "h:1"),
    "cannot listen on h:1: the port is in use",
  );
  assertStringIncludes(listenError(err("EACCES"), "h:80"), "permission denied");
  assertStringIncludes(
    listenError(err("EADDRNOTAVAIL"), "h:1"),
    "no such address",
  );
  assertStringIncludes(
    listenError(err("ENOTFOUND"), "nope:1"),
    "unknown host name",
  );
  assertStringIncludes(
    listenError(new Deno.errors.NotCapable("Requires net access"), "h:1"),
    "Deno's permissions do not allow it",
  );
  for (const code of ["EADDRINUSE", "EACCES", "EINVAL", "EOTHER"]) {
    assertEquals(listenError(err(code), "h:1").includes("\n"), false);
  }
});

Deno.test("broker serve: default certificate names cover loopback and the listen name, never a wildcard", () => {
  const sans = defaultSans("0.0.0.0");
  for (const n of ["localhost", "127.0.0.1", "::1"]) {
    assertEquals(sans.includes(n), true, n);
  }
  assertEquals(sans.includes("0.0.0.0"), false);
  assertEquals(defaultSans("broker.example.org")[0], "broker.example.org");
});
