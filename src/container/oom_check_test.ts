import { assertEquals, assertStringIncludes } from "@std/assert";
import {
  OOM_EXIT,
  OOM_SHIM,
  oomLeaseArgv,
  oomOutcome,
  type OomOutcomeInput,
  ownMemoryCgroup,
} from "./oom_check.ts";
import { LEASE_SHIM } from "./lease.ts";

const killed: OomOutcomeInput = {
  state: "ERROR_E",
  exitCode: 137,
  message: "payload exited",
};

Deno.test("oomOutcome: a SIGKILL with the OOM count up is a memory kill (80)", () => {
  const o = oomOutcome(killed, OOM_EXIT, false, 188 * 2 ** 20);
  assertEquals([o.state, o.exitCode, o.killReason], ["ERROR_E", 137, 80]);
  assertStringIncludes(
    o.message!,
    "memory limit: killed by the container's OOM killer (limit 188 MiB",
  );
});

Deno.test("oomOutcome: a wrapper the OOM killer took is a memory kill too", () => {
  const died: OomOutcomeInput = {
    state: "ERROR_E",
    exitCode: 180,
    message: "wrapper died",
  };
  const o = oomOutcome(died, OOM_EXIT, true);
  assertEquals([o.exitCode, o.killReason], [137, 80]);
  assertStringIncludes(o.message!, "the wrapper died too");
});

Deno.test("oomOutcome: an ordinary kill -9 (no OOM count) stays exit 137", () => {
  assertEquals(oomOutcome(killed, 137, false), killed);
  assertEquals(oomOutcome(killed, 0, false), killed);
});

Deno.test("oomOutcome: other endings keep their outcome despite an OOM count", () => {
  // A child was OOM-killed, but the job ended by itself or for another
  // reason: that is what it reports.
  for (
    const o of [
      { state: "DONE", exitCode: 0 },
      { state: "ERROR_E", exitCode: 1 },
      { state: "ERROR_E", exitCode: 137, killReason: 30 },
      { state: "WAITING", exitCode: 137 },
    ]
  ) assertEquals(oomOutcome(o, OOM_EXIT, false), o);
});

Deno.test("ownMemoryCgroup: only podman and docker with a memory limit", () => {
  const mem = { memoryBytes: 1e8, pids: 10 };
  for (const name of ["podman", "docker"]) {
    assertEquals(ownMemoryCgroup({ driver: { name }, resources: mem }), true);
  }
  assertEquals(
    ownMemoryCgroup({ driver: { name: "singularity" }, resources: mem }),
    false,
  );
  assertEquals(
    ownMemoryCgroup({ driver: { name: "podman" }, resources: { pids: 10 } }),
    false,
  );
  assertEquals(
    ownMemoryCgroup({ driver: { name: "bwrap" }, resources: mem }),
    false,
  );
});

Deno.test("OOM_SHIM: the lease shim, then the check; argv as leaseArgv's", () => {
  assertEquals(OOM_SHIM.startsWith(LEASE_SHIM + "\n"), true);
  assertEquals(oomLeaseArgv(["/w", "a b"], "/l"), [
    "/bin/sh",
    "-c",
    OOM_SHIM,
    "splitpilot-lease",
    "/l",
    "/w",
    "a b",
  ]);
});
