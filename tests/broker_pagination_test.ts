/**
 * Listings are paged: `ps --all` pages through more than 10,000 jobs (the
 * broker's largest page), file listings follow their cursor, and a bad
 * page size is a 400.
 */
import { assert, assertEquals } from "@std/assert";
import { formatJdl, matchKeys, parseJdl } from "../src/jdl/mod.ts";
import { matchClassKey } from "../src/broker/match_class.ts";
import type { NewJob } from "../src/broker/store.ts";
import { main as ps } from "../src/cli/ps_cmd.ts";
import { BrokerError } from "../src/client/broker_client.ts";
import { startGrid } from "./_grid.ts";

const JOBS = 10_500;

Deno.test("pagination: ps --all lists more than 10,000 jobs, each once", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  try {
    const jd = parseJdl('Executable = "/bin/true";');
    const keys = matchKeys(jd);
    const job: NewJob = {
      owner: "jdoe",
      jdl: formatJdl(jd),
      priority: 0,
      keys,
      matchClass: matchClassKey(jd, keys),
    };
    const ids = await grid.broker!.store.submitMany(
      Array.from({ length: JOBS }, () => job),
      "USER:jdoe",
    );
    const out: string[] = [];
    const code = await ps(
      ["--all", "--json", "--broker", grid.url, "--token", grid.userTokenDir],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    assertEquals(code, 0, out.join("\n"));
    const listed = (JSON.parse(out[0]) as { jobs: { id: string }[] }).jobs
      .map((j) => j.id);
    assertEquals(listed.length, JOBS);
    assertEquals(new Set(listed).size, JOBS);
    assertEquals(listed[0], ids[ids.length - 1], "newest first");

    // --limit above one page is paged too.
    out.length = 0;
    await ps(
      [
        "--limit",
        "10001",
        "--json",
        "--broker",
        grid.url,
        "--token",
        grid.userTokenDir,
      ],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    assertEquals(JSON.parse(out[0]).jobs.length, 10_001);

    const bad = await grid.user.json("GET", "/api/v1/jobs?limit=0").then(
      () => undefined,
      (e) => e,
    );
    assert(bad instanceof BrokerError && bad.status === 400);
  } finally {
    await grid.close();
  }
});

Deno.test("pagination: file listings follow their cursor", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  try {
    for (let i = 0; i < 5; i++) {
      await grid.user.upload(`/jdoe/p/f${i}`, new TextEncoder().encode(`${i}`));
    }
    const seen: string[] = [];
    let after = "";
    for (let pages = 0; pages < 10; pages++) {
      const page = await grid.user.json<
        { files: { lfn: string }[]; next: string | null }
      >("GET", `/api/v1/files?prefix=/jdoe/p/&limit=2&after=${after}`);
      seen.push(...page!.files.map((f) => f.lfn));
      if (page!.next === null) break;
      after = encodeURIComponent(page!.next);
    }
    assertEquals(seen, [0, 1, 2, 3, 4].map((i) => `/jdoe/p/f${i}`));
  } finally {
    await grid.close();
  }
});
