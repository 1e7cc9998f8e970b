import { assertEquals } from "@std/assert";
import { flagsBeyond } from "./flags_beyond.ts";
import type { PermissionSet } from "../permissions/table.ts";

const TABLE: PermissionSet = {
  net: ["127.0.0.1:8443"],
  read: ["/w"],
  write: ["/w"],
  run: ["/bin/kill"],
  env: ["HOME", "SPLITPILOT_*"],
};

Deno.test("flagsBeyond: flags within the row report nothing", () => {
  assertEquals(
    flagsBeyond([
      "run",
      "--no-config",
      "--allow-net=127.0.0.1:8443",
      "--allow-read=/w/sub",
      "--allow-write=/w",
      "--allow-run=/bin/kill",
      "--allow-env=HOME,SPLITPILOT_X,SPLITPILOT_A*",
    ], TABLE),
    [],
  );
});

Deno.test("flagsBeyond: extra entries, bare flags, -A and kinds the table never grants", () => {
  assertEquals(
    flagsBeyond([
      "--allow-read=/w,/etc",
      "--allow-net",
      "-A",
      "--allow-sys=hostname",
      "--allow-env=*",
      "-R",
    ], TABLE),
    [
      "--allow-read=/etc",
      "--allow-net (all of net)",
      "-A (everything)",
      "--allow-sys=hostname (the table never grants sys)",
      "--allow-env=*",
      "-R (short or config-defined permissions)",
    ],
  );
});
