import { assert, assertEquals, assertExists, assertThrows } from "@std/assert";
import { type JobDescription, parseJdl, requirementsHold } from "../jdl/mod.ts";
import { ACTIVE_STATES, type JobState } from "../protocol/job_state.ts";
import type { JobRecord } from "./store.ts";
import { SchemaError, SqliteJobStore } from "./store_sqlite.ts";
import {
  fits,
  newJob,
  offer,
  randomJdl,
  randomSlot,
  tempStore,
} from "../../tests/_queue.ts";
import { Random } from "../../tests/_random.ts";
import { eventually } from "../../tests/_eventually.ts";

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
const NEXT: Partial<Record<JobState, [JobState, number?][]>> = {
  WAITING: [["KILLED"]],
  ASSIGNED: [["STARTED"], ["ZOMBIE", 3]],
  STARTED: [["RUNNING"], ["ERROR_IB", 3]],
  RUNNING: [["DONE"], ["ZOMBIE", 3]],
};
const accept = (job: JobRecord) => requirementsHold(parseJdl(job.jdl), {});

Deno.test("claim hands out the job whose keys fit, once", async () => {
  const t = await tempStore();
  try {
    const small = await t.store.submit(
      newJob("u", 'Executable = "/x"; CPUCores = 1;'),
      "USER:u",
    );
    const big = await t.store.submit(
      newJob("u", 'Executable = "/x"; CPUCores = 4; Priority = 5;'),
      "USER:u",
    );
    // A 2-core slot cannot take the 4-core job despite its priority.
    const first = await t.store.claim({ ...BIG, cpuCores: 2 }, AGENT, accept);
    assertEquals(first?.id, small);
    assertEquals(first?.state, "ASSIGNED");
    assertEquals(first?.agent, "fp-a");
    assertEquals(
      await t.store.claim({ ...BIG, cpuCores: 2 }, AGENT, accept),
      undefined,
    );
    assertEquals((await t.store.claim(BIG, AGENT, accept))?.id, big);
    assertEquals(await t.store.claim(BIG, AGENT, accept), undefined);
    const trace = await t.store.trace(small);
    assertEquals(trace.map((e) => [e.state, e.actor]), [
      ["WAITING", "USER:u"],
      ["ASSIGNED", "JOB_AGENT:site-a"],
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("claim filters sites, CEs and packages in SQL, ignoring case", async () => {
  const t = await tempStore();
  try {
    const gsi = await t.store.submit(
      newJob("u", 'Executable = "/x"; Requirements = other.Site == "GSI";'),
      "USER:u",
    );
    const ce = await t.store.submit(
      newJob(
        "u",
        'Executable = "/x"; Requirements = other.CE == "A::ce1" || other.CE == "B::ce2";',
      ),
      "USER:u",
    );
    const pkg = await t.store.submit(
      newJob(
        "u",
        'Executable = "/x"; Packages = "ROOT::v6"; Requirements = member(other.Packages, "O2::v1");',
      ),
      "USER:u",
    );
    const at = (site: string, ce: string, packages: string[] = []) =>
      t.store.claim({ ...BIG, site, ce, packages }, AGENT, accept);
    assertEquals(await at("CERN", "CERN::ce1", ["root::V6"]), undefined);
    assertEquals((await at("gsi", "x"))?.id, gsi);
    assertEquals(await at("CERN", "b::CE1"), undefined);
    assertEquals((await at("CERN", "b::CE2"))?.id, ce);
    assertEquals(await at("CERN", "x", ["o2::v1"]), undefined);
    assertEquals((await at("CERN", "x", ["o2::v1", "ROOT::V6"]))?.id, pkg);
  } finally {
    await t.close();
  }
});

Deno.test("claim treats unknown slot memory and disk (0) as no limit", async () => {
  const t = await tempStore();
  try {
    const id = await t.store.submit(
      newJob("u", 'Executable = "/x"; MemorySize = "8GB";'),
      "USER:u",
    );
    assertEquals(
      await t.store.claim({ ...BIG, memory: 2 ** 30 }, AGENT, accept),
      undefined,
    );
    assertEquals(
      (await t.store.claim({ ...BIG, memory: 0 }, AGENT, accept))?.id,
      id,
    );
  } finally {
    await t.close();
  }
});

Deno.test("claim asks JavaScript only about residual classes, once per class", async () => {
  const t = await tempStore();
  try {
    for (let i = 0; i < 3; i++) {
      await t.store.submit(
        newJob(
          "u",
          `Executable = "/x"; Arguments = "${i}"; Requirements = other.Site != "CERN";`,
        ),
        "USER:u",
      );
    }
    const plain = await t.store.submit(
      newJob("v", 'Executable = "/x"; Requirements = other.Site == "CERN";'),
      "USER:v",
    );
    const asked: string[] = [];
    const site = { site: "CERN" };
    const job = await t.store.claim(BIG, AGENT, (j) => {
      asked.push(j.id);
      return requirementsHold(parseJdl(j.jdl), site);
    });
    assertEquals(job?.id, plain);
    assertEquals(asked.length, 1, `asked about ${asked}`);
  } finally {
    await t.close();
  }
});

Deno.test("fair share: round robin across users, then priority, then age", async () => {
  const t = await tempStore();
  try {
    const ids: Record<string, string[]> = { a: [], b: [], c: [] };
    for (const u of ["a", "b", "c"]) {
      for (let i = 0; i < 4; i++) {
        // Same class for everyone: the order is fair share alone.
        ids[u].push(
          await t.store.submit(
            newJob(u, `Executable = "/x"; Arguments = "${i}";`),
            `USER:${u}`,
          ),
        );
      }
    }
    // a also has a high-priority job, submitted last.
    const urgent = await t.store.submit(
      newJob("a", 'Executable = "/x"; Priority = 9;'),
      "USER:a",
    );
    const order: JobRecord[] = [];
    for (let i = 0; i < 6; i++) {
      order.push((await t.store.claim(BIG, AGENT, accept))!);
    }
    const owners = order.map((j) => j.owner);
    // Every user gets one before anyone gets a second.
    assertEquals(new Set(owners.slice(0, 3)).size, 3, owners.join());
    assertEquals(new Set(owners.slice(3, 6)).size, 3, owners.join());
    const ofA = order.filter((j) => j.owner === "a").map((j) => j.id);
    assertEquals(ofA, [urgent, ids.a[0]], "priority first, then oldest");
    assertEquals(
      order.filter((j) => j.owner === "b").map((j) => j.id),
      ids.b.slice(0, 2),
    );
  } finally {
    await t.close();
  }
});

Deno.test("fair share: users with fewer running jobs go first; quotas hold", async () => {
  const t = await tempStore();
  try {
    for (let i = 0; i < 6; i++) {
      await t.store.submit(newJob("a", 'Executable = "/x";'), "USER:a");
    }
    const a1 = (await t.store.claim(BIG, AGENT, accept))!;
    const a2 = (await t.store.claim(BIG, AGENT, accept))!;
    assertEquals([a1.owner, a2.owner], ["a", "a"]);
    for (let i = 0; i < 3; i++) {
      await t.store.submit(newJob("b", 'Executable = "/x";'), "USER:b");
    }
    // a runs 2, b none: b first until they are level.
    const next = [];
    for (let i = 0; i < 3; i++) {
      next.push((await t.store.claim(BIG, AGENT, accept))!.owner);
    }
    assertEquals(next.slice(0, 2), ["b", "b"]);
    // Quota: a may run 3 at most (it runs 2 or 3 now).
    const running = (u: string) =>
      t.store.list({ owner: u, states: [...ACTIVE_STATES] });
    const quota = { userQuota: 3 };
    while (await t.store.claim(BIG, AGENT, accept, quota)) { /* drain */ }
    assertEquals((await running("a")).length, 3);
    assertEquals((await running("b")).length, 3);
    // A per-user quota wins over the default one.
    await t.store.setUserQuota("a", 4);
    assertEquals((await t.store.claim(BIG, AGENT, accept, quota))?.owner, "a");
    assertEquals(await t.store.claim(BIG, AGENT, accept, quota), undefined);
    // Finishing a job frees quota.
    const r = (await running("a"))[0];
    assertEquals(
      await t.store.transition(r.id, r.state, "ERROR_A", {
        actor: "test",
        reason: "x",
      }),
      "ERROR_A",
    );
    assertEquals((await t.store.claim(BIG, AGENT, accept, quota))?.owner, "a");
  } finally {
    await t.close();
  }
});

Deno.test("fair share: among users running as many jobs, the one served least recently goes first", async () => {
  const t = await tempStore();
  try {
    for (const u of ["a", "b", "a", "b", "a", "b"]) {
      await t.store.submit(newJob(u, 'Executable = "/x";'), `USER:${u}`);
    }
    const owners: string[] = [];
    for (let i = 0; i < 4; i++) {
      const j = (await t.store.claim(BIG, AGENT, accept))!;
      owners.push(j.owner);
      // Each job ends at once: running counts stay level at 0.
      await t.store.transition(j.id, "ASSIGNED", "ERROR_A", {
        actor: "test",
        reason: "done",
      });
    }
    assertEquals(owners, ["a", "b", "a", "b"]);
  } finally {
    await t.close();
  }
});

Deno.test("transition is a compare-and-set; requeue honours the limit and clears the attempt", async () => {
  const t = await tempStore();
  try {
    const id = await t.store.submit(
      newJob("u", 'Executable = "/x";'),
      "USER:u",
    );
    await t.store.claim(BIG, AGENT, accept);
    await t.store.setTokenSerial(id, "abc");
    const e = { actor: "JOB:u", reason: "r" };
    assertEquals(
      await t.store.transition(id, "WAITING", "KILLED", e),
      undefined,
    );
    assertEquals(
      await t.store.transition(id, "ASSIGNED", "STARTED", e),
      "STARTED",
    );
    assertEquals(
      await t.store.transition(id, "STARTED", "ERROR_IB", e, {
        exitCode: 1,
        requeueLimit: 1,
      }),
      "WAITING",
    );
    let job = (await t.store.get(id))!;
    assertEquals(job.state, "WAITING");
    assertEquals(job.resubmissions, 1);
    assertEquals(job.tokenSerial, undefined);
    assertEquals(job.agent, undefined);
    assertEquals(job.exitCode, undefined);
    await t.store.claim(BIG, AGENT, accept);
    await t.store.transition(id, "ASSIGNED", "STARTED", e);
    assertEquals(
      await t.store.transition(id, "STARTED", "ERROR_IB", e, {
        exitCode: 2,
        requeueLimit: 1,
      }),
      "ERROR_IB",
    );
    job = (await t.store.get(id))!;
    assertEquals([job.state, job.exitCode, job.resubmissions], [
      "ERROR_IB",
      2,
      1,
    ]);
    const states = (await t.store.trace(id)).map((x) => x.state);
    assertEquals(states, [
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "ERROR_IB",
      "WAITING",
      "ASSIGNED",
      "STARTED",
      "ERROR_IB",
    ]);
    const auto = (await t.store.trace(id))[4];
    assertEquals(auto.actor, "broker");
    assertEquals(auto.reason, "automatic resubmission 1/1 after ERROR_IB");
  } finally {
    await t.close();
  }
});

Deno.test("silentSince and overdue find zombies and expired jobs; claim expires on the way", async () => {
  const t = await tempStore();
  try {
    const stale = await t.store.submit(
      newJob("u", 'Executable = "/x";'),
      "USER:u",
    );
    await t.store.claim(BIG, AGENT, accept);
    const now = Date.now();
    assertEquals((await t.store.silentSince(now - 60_000, 10)).length, 0);
    assertEquals(
      (await t.store.silentSince(now + 1, 10)).map((j) => j.id),
      [stale],
    );
    await t.store.heartbeat(stale, {
      cpuSeconds: 2,
      rssBytes: 3,
      wallSeconds: 4,
      diskBytes: 5,
    });
    assertEquals((await t.store.get(stale))?.usage?.cpuSeconds, 2);
    // The short job expires 50 ms after its submit, which lies between
    // `before` and `after`: asking as of explicit instants keeps the
    // overdue checks exact however slow the machine is.
    const before = Date.now();
    const short = await t.store.submit(
      newJob("u", 'Executable = "/x"; Priority = 1;', 0.05),
      "USER:u",
    );
    const after = Date.now();
    const later = await t.store.submit(
      newJob("u", 'Executable = "/x";'),
      "USER:u",
    );
    assertEquals((await t.store.overdue(before + 49, 10)).length, 0);
    assertEquals(
      (await t.store.overdue(after + 50, 10)).map((j) => j.id),
      [short],
    );
    // The claim reads the real clock: wait until the deadline has passed.
    await eventually("the short job's deadline", () => Date.now() > after + 50);
    // The expired head is skipped (and expired) by the claim itself.
    assertEquals((await t.store.claim(BIG, AGENT, accept))?.id, later);
    assertEquals((await t.store.get(short))?.state, "EXPIRED");
    const last = (await t.store.trace(short)).at(-1)!;
    assertEquals([last.state, last.actor], ["EXPIRED", "broker"]);
  } finally {
    await t.close();
  }
});

for (const fewClasses of [0, 8, Infinity]) {
  Deno.test(`random queue: every claim is sound, complete and fair (oracle, fewClasses ${fewClasses})`, async () => {
    const seed = Number(Deno.env.get("QUEUE_SEED") ?? 7);
    const rng = new Random(seed);
    const t = await tempStore({ durability: "normal", fewClasses });
    const parsed = new Map<string, JobDescription>();
    const users = ["u0", "u1", "u2", "u3", "u4"];
    try {
      for (let step = 0; step < 1000; step++) {
        const r = rng.next();
        if (r < 0.45) {
          const owner = rng.pick(users);
          const text = randomJdl(rng);
          const id = await t.store.submit(newJob(owner, text), `USER:${owner}`);
          parsed.set(id, parseJdl(text));
        } else if (r < 0.85) {
          const site = randomSlot(rng);
          const all = await t.store.list({ limit: 100_000 });
          const job = await t.store.claim(
            offer(site),
            AGENT,
            (j) => requirementsHold(parsed.get(j.id)!, site),
          );
          const waiting = all.filter((j) => j.state === "WAITING");
          const fitting = waiting.filter((j) => fits(parsed.get(j.id)!, site));
          const ctx = `seed ${seed}, step ${step}`;
          if (!job) {
            assertEquals(fitting.map((j) => j.id), [], `complete (${ctx})`);
            continue;
          }
          assert(fits(parsed.get(job.id)!, site), `sound (${ctx})`);
          const running = (u: string) =>
            all.filter((j) => j.owner === u && ACTIVE_STATES.has(j.state))
              .length;
          const least = Math.min(...fitting.map((j) => running(j.owner)));
          assertEquals(running(job.owner), least, `fewest running (${ctx})`);
          const mine = fitting.filter((j) => j.owner === job.owner);
          const best = mine.sort((a, b) =>
            b.priority - a.priority || Number(a.id) - Number(b.id)
          )[0];
          assertEquals(job.id, best.id, `priority, then age (${ctx})`);
        } else {
          // Move a random job along: start, finish, fail with requeue, kill.
          const all = await t.store.list({ limit: 100_000 });
          if (all.length === 0) continue;
          const j = rng.pick(all);
          const moves = NEXT[j.state];
          if (!moves) continue;
          const [to, limit] = rng.pick(moves);
          const got = await t.store.transition(j.id, j.state, to, {
            actor: "test",
            reason: "random",
          }, { requeueLimit: limit });
          assert(got === to || (limit !== undefined && got === "WAITING"));
        }
      }
      const all = await t.store.list({ limit: 100_000 });
      assert(all.some((j) => j.resubmissions > 0), "requeues happened");
      assert(all.some((j) => j.state === "ASSIGNED"), "claims happened");
    } finally {
      await t.close();
    }
  });
}

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

Deno.test("submitMany stores all jobs in one transaction, in order", async () => {
  const t = await tempStore();
  try {
    const ids = await t.store.submitMany(
      [1, 2, 3].map((i) =>
        newJob("u", `Executable = "/x"; Arguments = "${i}";`)
      ),
      "USER:u",
    );
    assertEquals(ids.map(Number), [1, 2, 3]);
    const jobs = await t.store.list({ owner: "u" });
    assertEquals(jobs.map((j) => j.id), ["3", "2", "1"]);
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
