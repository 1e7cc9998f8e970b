// The cases every store must pass (claims, fair share, quotas,
// transitions, expiry, the random oracle, batches) live in
// tests/store_conformance_test.ts, which runs them on SQLite and
// PostgreSQL. Here: what only the SQLite store has (WAL durability, schema
// version, derived tables that heal).
import { assert, assertEquals, assertExists, assertThrows } from "@std/assert";
import { parseJdl, requirementsHold } from "../jdl/mod.ts";
import type { JobRecord } from "./store.ts";
import type { JobState } from "../protocol/job_state.ts";
import { SchemaError, SqliteJobStore } from "./store_sqlite.ts";
import { newJob, tempStore } from "../../tests/_queue.ts";

const AGENT = { fingerprint: "fp-a", subject: "site-a" };
const BIG = {
  cpuCores: 8,
  ttl: 86400,
  memory: 64 * 2 ** 30,
  disk: 64 * 2 ** 30,
  site: "CERN",
  ce: "CERN::ce1",
  packages: [],
};
const accept = (job: JobRecord) => requirementsHold(parseJdl(job.jdl), {});

Deno.test("group durability: writes resolve after the WAL sync; close waits", async () => {
  const t = await tempStore({ durability: "group" });
  try {
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.store.submit(
          newJob("u", `Executable = "/x"; Arguments = "${i}";`),
          "USER:u",
        )),
    );
    assertEquals(new Set(ids).size, 50);
    const claims = await Promise.all(
      Array.from({ length: 60 }, () => t.store.claim(BIG, AGENT, accept)),
    );
    const got = claims.filter((c) => c !== undefined).map((c) => c!.id);
    assertEquals(got.length, 50);
    assertEquals(new Set(got).size, 50);
  } finally {
    await t.close();
  }
});

Deno.test("a database of another schema version is refused with a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(`${dir}/jobs.db`);
    db.exec("CREATE TABLE jobs (id INTEGER PRIMARY KEY)");
    db.close();
    const e = assertThrows(
      () => new SqliteJobStore(`${dir}/jobs.db`),
      SchemaError,
    );
    assert(e.message.includes("schema version 0, expected 2"), e.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a reopened queue keeps jobs, heads and running counts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let store = new SqliteJobStore(`${dir}/jobs.db`);
    for (let i = 0; i < 3; i++) {
      await store.submit(newJob("u", 'Executable = "/x";'), "USER:u");
    }
    await store.submit(newJob("v", 'Executable = "/x";'), "USER:v");
    assertExists(await store.claim(BIG, AGENT, accept));
    await store.close();
    store = new SqliteJobStore(`${dir}/jobs.db`);
    const owners = [];
    for (let i = 0; i < 3; i++) {
      owners.push((await store.claim(BIG, AGENT, accept))?.owner);
    }
    // u ran one before the restart: v (none running) comes first now.
    assertEquals(owners[0], "v");
    assertEquals(owners.filter((o) => o === "u").length, 2);
    assertEquals(await store.claim(BIG, AGENT, accept), undefined);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("queue heads and running counts heal when out of step with the jobs", async () => {
  const t = await tempStore();
  try {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        await t.store.submit(newJob("u", 'Executable = "/x";'), "USER:u"),
      );
    }
    await t.store.submit(newJob("v", 'Executable = "/x";'), "USER:v");
    const { DatabaseSync } = await import("node:sqlite");
    const other = new DatabaseSync(t.path);
    // Point u's head at a job that is not waiting; claim u's job behind
    // the store's back; pretend v runs plenty.
    other.exec(`UPDATE jobs SET state = 'DONE' WHERE id = ${ids[0]}`);
    other.exec("UPDATE owners SET running = 50 WHERE owner = 'v'");
    other.close();
    const j = await t.store.claim(BIG, AGENT, accept);
    // Healed: u's head moved on, and v's count is real again (0 ≤ 0 → the
    // tie goes to the user served least recently: both never, u by name).
    assertEquals(j?.id, ids[1]);
    assertEquals((await t.store.claim(BIG, AGENT, accept))?.owner, "v");
  } finally {
    await t.close();
  }
});

Deno.test("group commit: concurrent writes share syncs; one request's writes wait for one sync at its end", async () => {
  const t = await tempStore({ durability: "group" });
  try {
    // 20 transactions issued in one tick: the first starts a sync, the
    // other 19 share the next one.
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.store.submit(
          newJob("u", `Executable = "/x"; Arguments = "${i}";`),
          "USER:u",
        )),
    );
    assertEquals(t.store.writes, 20);
    assertEquals(t.store.syncs, 2);
    // One request: a claim and five transitions, one after the other, and
    // a single sync, which has run when the request resolves.
    const before = t.store.syncs;
    let resolvedAfterSync = false;
    await t.store.withOneSync(async () => {
      const job = await t.store.claim(BIG, AGENT, accept);
      const path: JobState[] = ["ASSIGNED", "STARTED", "RUNNING", "SAVING"];
      for (let i = 1; i < path.length; i++) {
        await t.store.transition(job!.id, path[i - 1], path[i], {
          actor: "JOB:u",
          reason: "test",
        });
      }
      await t.store.transition(job!.id, "SAVING", "DONE", {
        actor: "JOB:u",
        reason: "test",
      });
      assertEquals(t.store.syncs, before);
    }).then(() => resolvedAfterSync = t.store.syncs === before + 1);
    assert(resolvedAfterSync);
    assertEquals(t.store.writes, 25);
    // Nested scopes are one scope; outside any, each write waits itself.
    await t.store.withOneSync(() =>
      t.store.withOneSync(() => t.store.setUserQuota("u", 3))
    );
    assertEquals(t.store.syncs, before + 2);
    await t.store.setUserQuota("u", 4);
    assertEquals(t.store.syncs, before + 3);
    assertEquals(ids.length, 20);
  } finally {
    await t.close();
  }
});
