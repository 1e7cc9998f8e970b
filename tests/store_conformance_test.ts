/**
 * The task queue conformance suite: every case runs against the embedded
 * SQLite store and against the PostgreSQL store (a throwaway cluster
 * started by the test itself, one fresh database per case). Cases that
 * only make sense for one backend (SQLite's WAL durability, PostgreSQL's
 * replicas) live in their own tests below the shared ones.
 */
import { assert, assertEquals, assertExists } from "@std/assert";
import {
  type JobDescription,
  parseJdl,
  requirementsHold,
} from "../src/jdl/mod.ts";
import { ACTIVE_STATES, type JobState } from "../src/protocol/job_state.ts";
import type { JobRecord, JobStore } from "../src/broker/store.ts";
import { SqliteJobStore } from "../src/broker/store_sqlite.ts";
import { PostgresJobStore } from "../src/broker/store_postgres.ts";
import { Sweeper } from "../src/broker/sweeper.ts";
import { fits, newJob, offer, randomJdl, randomSlot } from "./_queue.ts";
import { Random } from "./_random.ts";
import { eventually } from "./_eventually.ts";
import {
  needsPostgres,
  startPostgres,
  type TestPostgres,
} from "./_postgres.ts";

/** Options a case may ask of its store. */
interface OpenOptions {
  fewClasses?: number;
}

/** A store of one backend, fresh for each case. */
interface Backend {
  /** Opens a fresh, empty store. */
  open(opts?: OpenOptions): Promise<{
    store: JobStore;
    /** Opens another store on the same data (a restart, or a replica). */
    another(): Promise<JobStore>;
    close(): Promise<void>;
  }>;
}

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

const cases: [string, (b: Backend) => Promise<void>][] = [];

cases.push([
  "claim hands out the job whose keys fit, once",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "claim filters sites, CEs and packages in SQL, ignoring case",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "claim treats unknown slot memory and disk (0) as no limit",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "claim asks JavaScript only about residual classes, once per class",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "fair share: round robin across users, then priority, then age",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "fair share: users with fewer running jobs go first; quotas hold",
  async (b: Backend) => {
    const t = await b.open();
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
      assertEquals(
        (await t.store.claim(BIG, AGENT, accept, quota))?.owner,
        "a",
      );
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
      assertEquals(
        (await t.store.claim(BIG, AGENT, accept, quota))?.owner,
        "a",
      );
    } finally {
      await t.close();
    }
  },
]);

cases.push([
  "fair share: among users running as many jobs, the one served least recently goes first",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "transition is a compare-and-set; requeue honours the limit and clears the attempt",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "silentSince and overdue find zombies and expired jobs; claim expires on the way",
  async (b: Backend) => {
    const t = await b.open();
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
      await eventually(
        "the short job's deadline",
        () => Date.now() > after + 50,
      );
      // The expired head is skipped (and expired) by the claim itself.
      assertEquals((await t.store.claim(BIG, AGENT, accept))?.id, later);
      assertEquals((await t.store.get(short))?.state, "EXPIRED");
      const last = (await t.store.trace(short)).at(-1)!;
      assertEquals([last.state, last.actor], ["EXPIRED", "broker"]);
    } finally {
      await t.close();
    }
  },
]);

for (const fewClasses of [0, 8, Infinity]) {
  cases.push([
    `random queue: every claim is sound, complete and fair (oracle, fewClasses ${fewClasses})`,
    async (b: Backend) => {
      const seed = Number(Deno.env.get("QUEUE_SEED") ?? 7);
      const rng = new Random(seed);
      const t = await b.open({ fewClasses });
      const parsed = new Map<string, JobDescription>();
      const users = ["u0", "u1", "u2", "u3", "u4"];
      try {
        for (let step = 0; step < 1000; step++) {
          const r = rng.next();
          if (r < 0.45) {
            const owner = rng.pick(users);
            const text = randomJdl(rng);
            const id = await t.store.submit(
              newJob(owner, text),
              `USER:${owner}`,
            );
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
            const fitting = waiting.filter((j) =>
              fits(parsed.get(j.id)!, site)
            );
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
    },
  ]);
}

cases.push([
  "concurrent submits and claims: every job handed out once",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "submitMany stores all jobs in one transaction, in order",
  async (b: Backend) => {
    const t = await b.open();
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
  },
]);

cases.push([
  "a reopened queue keeps jobs and running counts",
  async (b: Backend) => {
    const t = await b.open();
    try {
      for (let i = 0; i < 3; i++) {
        await t.store.submit(newJob("u", 'Executable = "/x";'), "USER:u");
      }
      await t.store.submit(newJob("v", 'Executable = "/x";'), "USER:v");
      assertExists(await t.store.claim(BIG, AGENT, accept));
      const store = await t.another();
      try {
        const owners = [];
        for (let i = 0; i < 3; i++) {
          owners.push((await store.claim(BIG, AGENT, accept))?.owner);
        }
        // u ran one before: v (none running) comes first now.
        assertEquals(owners[0], "v");
        assertEquals(owners.filter((o) => o === "u").length, 2);
        assertEquals(await store.claim(BIG, AGENT, accept), undefined);
      } finally {
        await store.close();
      }
    } finally {
      await t.close();
    }
  },
]);

cases.push([
  "request keys: a repeated submit or claim returns the first one's job",
  async (b: Backend) => {
    const t = await b.open();
    try {
      const job = {
        ...newJob("u", 'Executable = "/x";'),
        idempotencyKey: "k1",
      };
      const id = await t.store.submit(job, "USER:u");
      assertEquals(await t.store.submit(job, "USER:u"), id);
      // Another user's key space is its own.
      const other = {
        ...newJob("w", 'Executable = "/x";'),
        idempotencyKey: "k1",
      };
      assert((await t.store.submit(other, "USER:w")) !== id);
      const first = await t.store.claim(BIG, AGENT, accept, {
        requestKey: "m1",
      });
      const again = await t.store.claim(BIG, AGENT, accept, {
        requestKey: "m1",
      });
      assertEquals(again?.id, first?.id);
      assertEquals((await t.store.list({ states: ["ASSIGNED"] })).length, 1);
    } finally {
      await t.close();
    }
  },
]);

cases.push([
  "files: put, get, list by prefix in pages, delete",
  async (b: Backend) => {
    const t = await b.open();
    try {
      for (const lfn of ["/u/a/1", "/u/a/2", "/u/a/3", "/u/b/1", "/v/a"]) {
        await t.store.putFile({
          lfn,
          owner: lfn.split("/")[1],
          size: 3,
          sha256: "ab",
          createdAt: 1,
          jobId: lfn === "/u/b/1" ? "7" : undefined,
        });
      }
      assertEquals((await t.store.getFile("/u/b/1"))?.jobId, "7");
      assertEquals(await t.store.getFile("/nope"), undefined);
      assertEquals(
        (await t.store.listFiles("/u/a/")).map((f) => f.lfn),
        ["/u/a/1", "/u/a/2", "/u/a/3"],
      );
      assertEquals(
        (await t.store.listFiles("/u/", { after: "/u/a/2", limit: 2 })).map((
          f,
        ) => f.lfn),
        ["/u/a/3", "/u/b/1"],
      );
      // Replacing keeps one entry.
      await t.store.putFile({
        lfn: "/u/a/1",
        owner: "u",
        size: 9,
        sha256: "cd",
        createdAt: 2,
      });
      assertEquals((await t.store.getFile("/u/a/1"))?.size, 9);
      assertEquals(await t.store.deleteFile("/u/a/1"), true);
      assertEquals(await t.store.deleteFile("/u/a/1"), false);
    } finally {
      await t.close();
    }
  },
]);

cases.push([
  "countWaiting, countJobs, usage and malformed IDs",
  async (b: Backend) => {
    const t = await b.open();
    try {
      await t.store.submit(
        newJob("u", 'Executable = "/x"; CPUCores = 4;'),
        "USER:u",
      );
      await t.store.submit(newJob("u", 'Executable = "/x";'), "USER:u");
      assertEquals(await t.store.countWaiting({ ...BIG, cpuCores: 1 }), 1);
      assertEquals(await t.store.countWaiting(BIG), 2);
      const j = (await t.store.claim(BIG, AGENT, accept))!;
      const usage = {
        cpuSeconds: 1,
        rssBytes: 2,
        wallSeconds: 3,
        diskBytes: 4,
      };
      await t.store.setUsage(j.id, usage);
      assertEquals((await t.store.get(j.id))?.usage, usage);
      const counts = await t.store.countJobs();
      assertEquals(
        counts.map((c) => `${c.state}:${c.owner}:${c.n}`).sort(),
        ["ASSIGNED:u:1", "WAITING:u:1"],
      );
      assertEquals(await t.store.get("x1"), undefined);
      assertEquals(await t.store.get("99999"), undefined);
      assertEquals(await t.store.trace("99999"), []);
      assertEquals(
        await t.store.transition("99999", "WAITING", "KILLED", {
          actor: "t",
          reason: "r",
        }),
        undefined,
      );
    } finally {
      await t.close();
    }
  },
]);

cases.push([
  "list filters by owner and state, pages with before",
  async (b: Backend) => {
    const t = await b.open();
    try {
      const ids = [];
      for (const u of ["a", "b", "a", "a"]) {
        ids.push(
          await t.store.submit(newJob(u, 'Executable = "/x";'), `USER:${u}`),
        );
      }
      await t.store.transition(ids[0], "WAITING", "KILLED", {
        actor: "t",
        reason: "r",
      });
      assertEquals((await t.store.list({ owner: "a" })).map((j) => j.id), [
        ids[3],
        ids[2],
        ids[0],
      ]);
      assertEquals(
        (await t.store.list({ owner: "a", states: ["WAITING"] })).length,
        2,
      );
      assertEquals((await t.store.list({ limit: 2 })).map((j) => j.id), [
        ids[3],
        ids[2],
      ]);
      assertEquals(
        (await t.store.list({ before: Number(ids[2]) })).map((j) => j.id),
        [ids[1], ids[0]],
      );
    } finally {
      await t.close();
    }
  },
]);

cases.push([
  "submitMany: a batch of mixed users, classes and waiting times is a queue like single submits",
  async (b: Backend) => {
    const t = await b.open();
    try {
      const texts = Array.from(
        { length: 30 },
        (_, i) =>
          `Executable = "/x"; Arguments = "${i}"; CPUCores = ${1 + (i % 3)};${
            i % 4 === 0 ? " Priority = 2;" : ""
          }`,
      );
      const batch = texts.map((x, i) => newJob(`u${i % 3}`, x, 3600));
      const ids = await t.store.submitMany(batch, "USER:batch");
      assertEquals(new Set(ids).size, 30);
      assert(ids.every((id, i) => i === 0 || Number(id) > Number(ids[i - 1])));
      for (const [i, id] of ids.entries()) {
        const j = (await t.store.get(id))!;
        assertEquals([j.owner, j.state, j.cpuCores], [
          `u${i % 3}`,
          "WAITING",
          1 + (i % 3),
        ]);
        assert(j.expiresAt !== undefined && j.expiresAt > Date.now());
        assertEquals(
          (await t.store.trace(id)).map((e) => [e.state, e.actor, e.reason]),
          [["WAITING", "USER:batch", "submitted"]],
        );
      }
      assertEquals(await t.store.countWaiting({ ...BIG, cpuCores: 1 }), 10);
      assertEquals(await t.store.countWaiting(BIG), 30);
      const got: string[] = [];
      for (;;) {
        const j = await t.store.claim(BIG, AGENT, accept);
        if (!j) break;
        got.push(j.id);
      }
      assertEquals([...got].sort(), [...ids].sort());
      assertEquals(await t.store.countWaiting(BIG), 0);
    } finally {
      await t.close();
    }
  },
]);

const sqlite: Backend = {
  open: async (opts = {}) => {
    const dir = await Deno.makeTempDir({ prefix: "splitpilot-conf-" });
    const path = `${dir}/jobs.db`;
    const store = new SqliteJobStore(path, {
      durability: "normal",
      ...opts,
    });
    const others: JobStore[] = [];
    return {
      store,
      another: () => {
        const s = new SqliteJobStore(path, { durability: "normal", ...opts });
        others.push(s);
        return Promise.resolve(s);
      },
      close: async () => {
        await store.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  },
};

function postgresBackend(pg: TestPostgres): Backend {
  return {
    open: async (opts = {}) => {
      const url = await pg.createDatabase();
      const store = await PostgresJobStore.open(url, opts);
      return {
        store,
        another: () => PostgresJobStore.open(url, opts),
        close: () => store.close(),
      };
    },
  };
}

Deno.test("store conformance: SQLite", async (t) => {
  for (const [name, run] of cases) await t.step(name, () => run(sqlite));
});

Deno.test({
  name: "store conformance: PostgreSQL",
  ignore: needsPostgres(),
  fn: async (t) => {
    const pg = await startPostgres();
    try {
      const backend = postgresBackend(pg);
      for (const [name, run] of cases) await t.step(name, () => run(backend));
    } finally {
      await pg.stop();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL replicas: concurrent claims from 3 stores hand each job out once; one sweeper leads",
  ignore: needsPostgres(),
  fn: async () => {
    const pg = await startPostgres();
    const stores: PostgresJobStore[] = [];
    try {
      const url = await pg.createDatabase();
      // Three replicas migrating at once: one applies, the others wait.
      stores.push(
        ...await Promise.all([1, 2, 3].map(() => PostgresJobStore.open(url))),
      );
      const users = ["a", "b", "c", "d"];
      const ids = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const u = users[i % users.length];
        ids.add(
          await stores[i % 3].submit(
            newJob(u, `Executable = "/x"; Arguments = "${i % 7}";`),
            `USER:${u}`,
          ),
        );
      }
      assertEquals(ids.size, 300);
      const got: string[] = [];
      await Promise.all(
        stores.flatMap((s, r) =>
          Array.from({ length: 8 }, async (_, w) => {
            const agent = {
              fingerprint: `fp-${r}-${w}`,
              subject: `s-${r}-${w}`,
            };
            for (;;) {
              const j = await s.claim(BIG, agent, accept);
              if (!j) return;
              assertEquals(j.agent, agent.fingerprint);
              got.push(j.id);
            }
          })
        ),
      );
      assertEquals(got.length, 300);
      assertEquals(new Set(got).size, 300, "no job handed out twice");
      // Token serials are unique across replicas.
      await stores[0].setTokenSerial(got[0], "serial-1");
      let refused = false;
      try {
        await stores[1].setTokenSerial(got[1], "serial-1");
      } catch {
        refused = true;
      }
      assert(refused, "a serial current for two jobs is refused");
      // Exactly one leader; it passes on when the leader goes.
      const leads = await Promise.all(stores.map((s) => s.sweeperLeader()));
      assertEquals(leads.filter((x) => x).length, 1, String(leads));
      const leader = leads.indexOf(true);
      assertEquals(await stores[leader].sweeperLeader(), true, "stays leader");
      await stores[leader].close();
      const rest = stores.filter((_, i) => i !== leader);
      stores.splice(0, stores.length, ...rest);
      await eventually("a new sweeper leader", async () => {
        const now = await Promise.all(rest.map((s) => s.sweeperLeader()));
        return now.filter((x) => x).length === 1;
      });
      // Timed sweeps run on the leader only.
      const swept = [0, 0];
      const sweepers = rest.map((s, i) =>
        new Sweeper(s, {
          intervalSeconds: 0.05,
          onSweep: () => swept[i]++,
        })
      );
      for (const sw of sweepers) sw.start();
      const lead = (await Promise.all(rest.map((s) => s.sweeperLeader())))
        .indexOf(true);
      await eventually("three sweeps by the leader", () => swept[lead] >= 3);
      for (const sw of sweepers) await sw.stop();
      assertEquals(swept[1 - lead], 0, "the follower never swept");
    } finally {
      for (const s of stores) await s.close().catch(() => {});
      await pg.stop();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL: a database with a migration this version does not know is refused",
  ignore: needsPostgres(),
  fn: async () => {
    const pg = await startPostgres();
    try {
      const url = await pg.createDatabase();
      const store = await PostgresJobStore.open(url);
      await store.close();
      const { default: postgres } = await import("postgres");
      const sql = postgres(url, { onnotice: () => {} });
      await sql`INSERT INTO splitpilot_migrations VALUES ('999_future', 0)`;
      await sql.end();
      let msg = "";
      try {
        await (await PostgresJobStore.open(url)).close();
      } catch (e) {
        msg = (e as Error).message;
      }
      assert(msg.includes("999_future"), msg);
      // Opening twice more is a no-op for known migrations.
    } finally {
      await pg.stop();
    }
  },
});
