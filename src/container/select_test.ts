import { RUNTIME_LAUNCHER } from "./_apptainer_like.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import {
  type ContainerDriver,
  ContainerError,
  type ProbeResult,
} from "./driver.ts";
import {
  AUTO_ORDER,
  createDriver,
  launcherPrograms,
  parseRuntimeName,
  RUNTIME_NAMES,
  selectRuntime,
} from "./select.ts";

/** A probe that passes only for the listed driver names (and binaries). */
function probeOnly(ok: (d: ContainerDriver) => boolean) {
  const seen: string[] = [];
  const probe = (d: ContainerDriver): Promise<ProbeResult> => {
    seen.push(`${d.name}:${d.binary ?? "-"}`);
    return Promise.resolve({
      ok: ok(d),
      message: ok(d) ? "fine" : `${d.name} broken`,
      ms: 1,
    });
  };
  return { probe, seen };
}

Deno.test("select: every runtime name has a driver", () => {
  for (const name of RUNTIME_NAMES) assertEquals(createDriver(name).name, name);
  assertEquals(
    createDriver("podman", { binary: "/x/podman" }).binary,
    "/x/podman",
  );
});

Deno.test("select: auto takes the first that probes OK, bwrap first", async () => {
  assertEquals(AUTO_ORDER[0], "bwrap");
  assertEquals(AUTO_ORDER[AUTO_ORDER.length - 1], "none");
  const p = probeOnly((d) => d.name === "podman" || d.name === "none");
  const sel = await selectRuntime("auto", { probe: p.probe });
  assertEquals(sel.driver.name, "podman");
  assertEquals(p.seen, ["bwrap:/usr/bin/bwrap", "podman:/usr/bin/podman"]);
  assertEquals(sel.probes.map((x) => x.result.ok), [false, true]);
});

Deno.test("select: none falls back from the reaper to plain", async () => {
  const p = probeOnly((d) => d.name === "none" && d.binary === undefined);
  const sel = await selectRuntime("none", { probe: p.probe });
  assertEquals(sel.driver.capabilities.pidNamespace, false);
  assertEquals(p.seen, ["none:/usr/bin/setpriv", "none:-"]);
});

Deno.test("select: a named runtime that fails its probe is refused, with why", async () => {
  const p = probeOnly(() => false);
  const err = await assertRejects(
    () =>
      selectRuntime("podman", {
        probe: p.probe,
        binaries: { podman: "/opt/podman" },
      }),
    ContainerError,
  );
  assertEquals(
    err.message,
    "no usable container runtime for USE_CONTAINERS=podman (podman: podman broken)",
  );
  assertEquals(p.seen, ["podman:/opt/podman"]);
});

Deno.test("select: USE_CONTAINERS parsing", async () => {
  assertEquals(parseRuntimeName(" Podman "), "podman");
  assertEquals(parseRuntimeName("auto"), "auto");
  await assertRejects(
    () => Promise.resolve().then(() => parseRuntimeName("lxc")),
    ContainerError,
    "USE_CONTAINERS=lxc: expected auto, none, bwrap",
  );
});

Deno.test("select: launcher programs for the agent's --allow-run", () => {
  assertEquals(launcherPrograms("podman", { deno: "/d" }), ["/usr/bin/podman"]);
  assertEquals(
    launcherPrograms("none", { deno: "/d", binaries: { none: "/s" } }),
    ["/s", "/d"],
  );
  assertEquals(
    launcherPrograms("auto", {
      deno: "/d",
      binaries: { apptainer: "/a/apptainer", singularity: "/s/singularity" },
    }),
    [
      "/usr/bin/bwrap",
      "/usr/bin/podman",
      RUNTIME_LAUNCHER,
      "/a/apptainer",
      "/s/singularity",
      "/usr/bin/docker",
      "/usr/bin/setpriv",
      "/d",
    ],
  );
  // Not on PATH: only the launcher script (no guessed /usr/bin path).
  assertEquals(
    launcherPrograms("singularity", { deno: "/d", binaries: {} }).filter((p) =>
      p !== RUNTIME_LAUNCHER && !p.endsWith("/singularity")
    ),
    [],
  );
});

Deno.test("select: auto never falls back to none unless the site opts in", async () => {
  const probe = (d: { name: string }) =>
    Promise.resolve({
      ok: d.name === "none",
      message: d.name === "none" ? "ok" : "absent",
      ms: 0,
    });
  const e = await assertRejects(() => selectRuntime("auto", { probe }));
  assertStringIncludes(e.message, "auto never falls back to none");
  assertStringIncludes(e.message, "--allow-no-container");
  const picked = await selectRuntime("auto", { probe, allowNoContainer: true });
  assertEquals(picked.driver.name, "none");
  assertEquals((await selectRuntime("none", { probe })).driver.name, "none");
});
