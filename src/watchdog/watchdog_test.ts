import { assertEquals, assertGreater, assertMatch } from "@std/assert";
import { KillReason } from "../protocol/kill_reason.ts";
import { jobLimits, type LimitViolation } from "./limits.ts";
import type { DirUsage, Sampler, TreeUsage, WatchedTree } from "./sampler.ts";
import { Watchdog } from "./watchdog.ts";
import { eventually } from "../../tests/_eventually.ts";

const MB = 2 ** 20;

/** A scripted tree: each sample returns the next usage. */
function fakeSource(
  usages: Partial<TreeUsage>[],
  dirs: Partial<DirUsage>[] = [],
) {
  const calls = { pss: 0, samples: 0, dirs: 0 };
  let i = 0;
  const tree: WatchedTree = {
    sample: (opts = {}) => {
      calls.samples++;
      const u = usages[Math.min(i, usages.length - 1)];
      if (opts.pss !== false) {
        calls.pss++;
        i++;
      }
      const base: TreeUsage = {
        at: Date.now(),
        processes: 3,
        threads: 3,
        cpuSeconds: 1,
        rssBytes: 10 * MB,
        ...u,
      };
      return Promise.resolve({
        ...base,
        pssBytes: opts.pss === false ? undefined : base.pssBytes,
      });
    },
    signal: () => Promise.resolve(0),
    release: () => Promise.resolve(),
  };
  let d = 0;
  const sampler: Sampler = {
    name: "fake",
    watch: () => Promise.resolve(tree),
    dirUsage: () => {
      calls.dirs++;
      return Promise.resolve({
        diskBytes: 0,
        coreFiles: 0,
        largestCoreBytes: 0,
        ...dirs[Math.min(d++, Math.max(0, dirs.length - 1))],
      });
    },
    close: () => Promise.resolve(),
  };
  return { tree, sampler, calls };
}

async function watch(
  source: ReturnType<typeof fakeSource>,
  limits = jobLimits({ ttl: 3600, memorySize: 100 * MB, cpuCores: 1 }, {
    cores: 1,
  }),
  ticks = 3,
) {
  const seen: LimitViolation[] = [];
  const wd = new Watchdog({
    sampler: source.sampler,
    tree: source.tree,
    sandbox: "/nowhere",
    limits,
    onViolation: (v) => seen.push(v),
    intervalMs: 20,
  });
  wd.start();
  for (let i = 0; i < ticks; i++) {
    await new Promise((r) => setTimeout(r, 5));
    await wd.sampleNow();
  }
  await wd.stop();
  return { seen, wd };
}

Deno.test("watchdog: PSS over 1.2 × MemorySize is a memory kill (80)", async () => {
  const src = fakeSource([{ rssBytes: 300 * MB, pssBytes: 130 * MB }]);
  const { seen, wd } = await watch(src);
  assertEquals(seen.length, 1, "reported once");
  assertEquals(seen[0].reason, KillReason.MEMORY);
  assertMatch(seen[0].message, /130\.0 MB PSS/);
  assertEquals(wd.usage().maxRssBytes, 130 * MB);
});

Deno.test("watchdog: shared pages keep PSS under the limit although RSS is over", async () => {
  const src = fakeSource([{ rssBytes: 300 * MB, pssBytes: 90 * MB }]);
  const { seen, wd } = await watch(src);
  assertEquals(seen, []);
  assertEquals(wd.usage().rssBytes, 90 * MB);
});

Deno.test("watchdog: steady RSS below the limit costs no PSS reads after the first", async () => {
  const src = fakeSource([{ rssBytes: 20 * MB, pssBytes: 15 * MB }]);
  const seen: LimitViolation[] = [];
  const wd = new Watchdog({
    sampler: src.sampler,
    tree: src.tree,
    sandbox: "/nowhere",
    limits: jobLimits({ ttl: 3600, memorySize: 100 * MB, cpuCores: 1 }, {
      cores: 1,
    }),
    onViolation: (v) => seen.push(v),
    intervalMs: 10,
    // Only a change in RSS may trigger a PSS read, not elapsed time.
    pssIntervalMs: 3_600_000,
  });
  wd.start();
  // However slow the machine, wait for the ticks rather than for a time.
  await eventually("six samples", () => src.calls.samples > 5);
  await wd.stop();
  assertGreater(src.calls.samples, 5);
  assertEquals(src.calls.pss, 1);
  assertEquals(seen, []);
});

Deno.test("watchdog: disk, core files, TTL and low CPU", async () => {
  const disk = await watch(
    fakeSource([{}], [{ diskBytes: 60 * MB }]),
    jobLimits({ ttl: 3600, workDirectorySize: 50 * MB, cpuCores: 1 }, {
      cores: 1,
    }),
  );
  assertEquals(disk.seen.map((v) => v.reason), [KillReason.DISK]);
  const core = await watch(fakeSource([{}], [{ coreFiles: 1 }]));
  assertEquals(core.seen.map((v) => v.reason), [KillReason.CORE_FILE]);
  const ttl = await watch(
    fakeSource([{}]),
    jobLimits({ ttl: 0, cpuCores: 1 }, { cores: 1, ttlGraceSeconds: 0 }),
  );
  assertEquals(ttl.seen.map((v) => v.reason), [KillReason.TTL]);

  // Low CPU counts only while the payload runs.
  const src = fakeSource([{ cpuSeconds: 1 }]);
  const seen: LimitViolation[] = [];
  const wd = new Watchdog({
    sampler: src.sampler,
    tree: src.tree,
    sandbox: "/nowhere",
    limits: jobLimits({ ttl: 3600, cpuCores: 1 }, {
      cores: 1,
      lowCpuWindowSeconds: 0.05,
    }),
    onViolation: (v) => seen.push(v),
    intervalMs: 10,
  });
  wd.start();
  // Ticks align to 10 ms boundaries: eleven of them span more than the
  // 50 ms window, so a low-CPU check outside RUNNING would have fired.
  await eventually("eleven samples", () => src.calls.samples > 10);
  assertEquals(seen, [], "not RUNNING yet");
  wd.stage("RUNNING");
  await eventually("a low-CPU kill", () => seen.length > 0);
  await wd.stop();
  assertEquals(seen.map((v) => v.reason), [KillReason.LOW_CPU]);
});
