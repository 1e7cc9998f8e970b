import { assert, assertEquals, assertRejects } from "@std/assert";
import { probeCgroupV2 } from "../watchdog/cgroup_sampler.ts";
import { startSampler } from "./start_sampler.ts";

Deno.test("startSampler: off means no sampler and no probing", async () => {
  const logs: string[] = [];
  assertEquals(await startSampler("off", (l) => logs.push(l)), undefined);
  assertEquals(logs, []);
});

Deno.test("startSampler: auto takes cgroup v2 when the slot owns one, else procfs, and says which", async () => {
  const logs: string[] = [];
  const s = await startSampler("auto", (l) => logs.push(l));
  try {
    const probe = await probeCgroupV2().catch(() => ({ usable: false }));
    assert(s !== undefined, logs.join("\n"));
    assertEquals(s.name, probe.usable ? "cgroup" : "procfs");
    assert(logs.some((l) => l.startsWith("watchdog: ")), logs.join("\n"));
  } finally {
    await s?.close();
  }
});

Deno.test("startSampler: an explicit cgroup request without a usable cgroup is an error", async () => {
  const probe = await probeCgroupV2().catch(() => ({ usable: false }));
  if (probe.usable) {
    const s = await startSampler("cgroup", () => {});
    assertEquals(s?.name, "cgroup");
    await s?.close();
    return;
  }
  await assertRejects(
    () => startSampler("cgroup", () => {}),
    Error,
    "--sampler cgroup:",
  );
});
