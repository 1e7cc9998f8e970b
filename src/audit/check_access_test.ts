import { assert, assertEquals } from "@std/assert";

const assertFalse = (v: boolean) => assert(!v);
import {
  accessAllowed,
  envWithin,
  netTarget,
  netWithin,
  normalizePath,
  pathWithin,
} from "./check_access.ts";
import type { PermissionSet } from "../permissions/table.ts";

const SET: PermissionSet = {
  net: ["127.0.0.1:8443", "example.org"],
  read: ["/srv/site/token", "/proc"],
  write: ["/srv/site/work"],
  run: ["/usr/bin/bwrap"],
  env: ["HOME", "SPLITPILOT_*"],
};

Deno.test("pathWithin: the grant itself and below it, component-wise", () => {
  assert(pathWithin("/srv/site/token", "/srv/site/token"));
  assert(pathWithin("/srv/site/token/key.pem", "/srv/site/token"));
  assertFalse(pathWithin("/srv/site/token2", "/srv/site/token"));
  assertFalse(pathWithin("/srv/site/token/../ca.key", "/srv/site/token"));
  assertFalse(pathWithin("relative", "/"));
  assert(pathWithin("/anything", "/"));
  assertEquals(normalizePath("/a/./b//c/../d"), "/a/b/d");
});

Deno.test("net: URLs and host:port against entries with and without port", () => {
  assertEquals(netTarget("https://127.0.0.1:8443/api/v1"), "127.0.0.1:8443");
  assertEquals(netTarget("https://example.org/x"), "example.org:443");
  assertEquals(netTarget("127.0.0.1:9"), "127.0.0.1:9");
  assert(netWithin("127.0.0.1:8443", "127.0.0.1:8443"));
  assertFalse(netWithin("127.0.0.1:8444", "127.0.0.1:8443"));
  assert(netWithin("example.org:80", "example.org"));
  assert(netWithin("[::1]:8443", "[::1]:8443"));
  assertFalse(netWithin("[::1]:1", "[::1]:8443"));
});

Deno.test("env: names and PREFIX_* entries", () => {
  assert(envWithin("SPLITPILOT_X", "SPLITPILOT_*"));
  assertFalse(envWithin("SPLITPILOTX", "SPLITPILOT_*"));
  assertFalse(envWithin("HOMEX", "HOME"));
});

Deno.test("accessAllowed: per kind; whole-kind checks and unknown kinds are outside", () => {
  assert(accessAllowed({ permission: "read", value: "/proc/1/stat" }, SET));
  assertFalse(accessAllowed({ permission: "read", value: "/etc/passwd" }, SET));
  assert(
    accessAllowed({ permission: "write", value: "/srv/site/work/j" }, SET),
  );
  assertFalse(
    accessAllowed({ permission: "write", value: "/srv/site/token/k" }, SET),
  );
  assert(
    accessAllowed({ permission: "net", value: "https://127.0.0.1:8443/" }, SET),
  );
  assertFalse(accessAllowed({ permission: "net", value: "127.0.0.1:1" }, SET));
  assert(accessAllowed({ permission: "env", value: "HOME" }, SET));
  assertFalse(accessAllowed({ permission: "env", value: null }, SET));
  assert(accessAllowed({ permission: "run", value: "/usr/bin/bwrap" }, SET));
  assertFalse(accessAllowed({ permission: "sys", value: "hostname" }, SET));
  assertFalse(accessAllowed({ permission: "ffi", value: "/lib/x.so" }, SET));
});
