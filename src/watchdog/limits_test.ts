import { assertEquals, assertMatch } from "@std/assert";
import { KillReason } from "../protocol/kill_reason.ts";
import {
  checkLimits,
  CpuWindow,
  jobLimits,
  memoryKillBytes,
} from "./limits.ts";

const MB = 2 ** 20;

Deno.test("jobLimits takes JDL values, else the job's share of the slot", () => {
  const own = jobLimits(
    {
      ttl: 100,
      memorySize: 500 * MB,
      workDirectorySize: 2000 * MB,
      cpuCores: 1,
    },
    { cores: 4, memory: 8000 * MB, disk: 40000 * MB, ttlGraceSeconds: 5 },
  );
  assertEquals(
    [own.wallSeconds, own.memoryBytes, own.diskBytes],
    [105, 500 * MB, 2000 * MB],
  );
  const shared = jobLimits({ ttl: 100, cpuCores: 2 }, {
    cores: 4,
    memory: 8000 * MB,
    disk: 40000 * MB,
  });
  assertEquals(
    [shared.wallSeconds, shared.memoryBytes, shared.diskBytes],
    [160, 4000 * MB, 20000 * MB],
  );
  const unknown = jobLimits({ ttl: 10, cpuCores: 1 }, { cores: 1 });
  assertEquals([unknown.memoryBytes, unknown.diskBytes], [
    undefined,
    undefined,
  ]);
  assertEquals(memoryKillBytes(own), 600 * MB);
});

Deno.test("checkLimits names each limit with its JAliEn code", () => {
  const l = jobLimits(
    { ttl: 10, memorySize: 100 * MB, workDirectorySize: 50 * MB, cpuCores: 1 },
    { cores: 1, ttlGraceSeconds: 2, lowCpuWindowSeconds: 60 },
  );
  const ok = { wallSeconds: 1, memoryBytes: 119 * MB, diskBytes: 50 * MB };
  assertEquals(checkLimits(l, ok), undefined);
  const cases: [object, number, RegExp][] = [
    [
      { memoryBytes: 121 * MB },
      KillReason.MEMORY,
      /121\.0 MB PSS exceeds 1\.2/,
    ],
    [{ diskBytes: 51 * MB }, KillReason.DISK, /WorkDirectorySize/],
    [{ wallSeconds: 12.5 }, KillReason.TTL, /TTL 10 s \+ grace 2 s/],
    [{ coreFiles: 1 }, KillReason.CORE_FILE, /core dump/],
    [{ cpuOverWindow: 0.1 }, KillReason.LOW_CPU, /no CPU progress/],
  ];
  for (const [extra, reason, message] of cases) {
    const v = checkLimits(l, { ...ok, ...extra })!;
    assertEquals(v.reason, reason);
    assertMatch(v.message, message);
    assertMatch(v.message, new RegExp(`kill reason ${reason}`));
  }
  // Enough CPU over the window is progress.
  assertEquals(checkLimits(l, { ...ok, cpuOverWindow: 0.7 }), undefined);
  // Core files are ignored when the policy says so.
  const lax = jobLimits({ ttl: 10, cpuCores: 1 }, {
    cores: 1,
    coreFiles: false,
  });
  assertEquals(checkLimits(lax, { wallSeconds: 1, coreFiles: 3 }), undefined);
});

Deno.test("CpuWindow answers only once the window is full", () => {
  const w = new CpuWindow(10);
  assertEquals(w.add(0, 0), undefined);
  assertEquals(w.add(5000, 1), undefined);
  assertEquals(w.add(10000, 1.5), 1.5);
  assertEquals(w.add(15000, 4), 3);
  w.reset();
  assertEquals(w.add(16000, 4), undefined);
  assertEquals(new CpuWindow(0).add(99999, 0), undefined);
});
