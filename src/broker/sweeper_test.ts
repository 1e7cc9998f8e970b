import { assertEquals, assertGreater, assertThrows } from "@std/assert";
import { Sweeper } from "./sweeper.ts";
import { newJob, tempStore } from "../../tests/_queue.ts";
import { eventually } from "../../tests/_eventually.ts";

const AGENT = { fingerprint: "fp", subject: "site" };
const SLOT = { cpuCores: 8, ttl: 86400, memory: 0, disk: 0 };

Deno.test("sweep: silent jobs become ZOMBIE, then WAITING until the limit", async () => {
  const t = await tempStore();
  try {
    const id = await t.store.submit(
      newJob("u", 'Executable = "/x";'),
      "USER:u",
    );
    const sweeper = new Sweeper(t.store, {
      zombieAfterSeconds: 10,
      maxResubmissions: 1,
    });
    await t.store.claim(SLOT, AGENT, () => true);
    // Sweeps as of instants relative to the claim's own heartbeat, so the
    // silence (and the reason text) is exact however slow the machine is.
    const claimed = (await t.store.get(id))!.heartbeatAt!;
    // Within the limit: nothing happens.
    assertEquals(await sweeper.sweep(claimed + 5_000), {
      zombies: [],
      requeued: [],
      expired: [],
    });
    assertEquals(await sweeper.sweep(claimed + 11_000), {
      zombies: [id],
      requeued: [id],
      expired: [],
    });
    const job = (await t.store.get(id))!;
    assertEquals([job.state, job.resubmissions], ["WAITING", 1]);
    const trace = await t.store.trace(id);
    assertEquals(trace.slice(-2).map((e) => [e.state, e.actor]), [
      ["ZOMBIE", "broker"],
      ["WAITING", "broker"],
    ]);
    assertEquals(
      trace.at(-2)!.reason,
      "no heartbeat for 11 s (limit 10 s) in ASSIGNED",
    );
    // Second time: the limit is reached, it stays ZOMBIE.
    await t.store.claim(SLOT, AGENT, () => true);
    const reclaimed = (await t.store.get(id))!.heartbeatAt!;
    const report = await sweeper.sweep(reclaimed + 11_000);
    assertEquals([report.zombies, report.requeued], [[id], []]);
    assertEquals((await t.store.get(id))?.state, "ZOMBIE");
  } finally {
    await t.close();
  }
});

Deno.test("sweep: a heartbeat keeps a job alive", async () => {
  const t = await tempStore();
  try {
    const id = await t.store.submit(
      newJob("u", 'Executable = "/x";'),
      "USER:u",
    );
    await t.store.claim(SLOT, AGENT, () => true);
    const claimed = (await t.store.get(id))!.heartbeatAt!;
    const sweeper = new Sweeper(t.store, { zombieAfterSeconds: 10 });
    // The heartbeat must land on a later millisecond than the claim.
    await eventually("the clock to move", () => Date.now() > claimed);
    await t.store.heartbeat(id, undefined);
    const beat = (await t.store.get(id))!.heartbeatAt!;
    assertGreater(beat, claimed);
    // As of 10 s after the heartbeat the claim alone would be past the
    // limit (claimed < cutoff = beat); only the heartbeat keeps it alive.
    assertEquals((await sweeper.sweep(beat + 10_000)).zombies, []);
    assertEquals((await t.store.get(id))?.state, "ASSIGNED");
  } finally {
    await t.close();
  }
});

Deno.test("sweep: waiting jobs past MaxWaitingTime become EXPIRED", async () => {
  const t = await tempStore();
  try {
    const short = await t.store.submit(
      newJob("u", 'Executable = "/x"; MaxWaitingTime = 60;'),
      "USER:u",
    );
    const long = await t.store.submit(
      newJob("u", 'Executable = "/x";', 3600),
      "USER:u",
    );
    const sweeper = new Sweeper(t.store);
    assertEquals((await sweeper.sweep(Date.now() + 30_000)).expired, []);
    assertEquals((await sweeper.sweep(Date.now() + 61_000)).expired, [short]);
    assertEquals((await t.store.get(short))?.state, "EXPIRED");
    assertEquals((await t.store.get(long))?.state, "WAITING");
    const last = (await t.store.trace(short)).at(-1)!;
    assertEquals([last.state, last.actor], ["EXPIRED", "broker"]);
  } finally {
    await t.close();
  }
});

Deno.test("the sweeper runs on its own timer and stops cleanly", async () => {
  const t = await tempStore();
  try {
    const id = await t.store.submit(
      newJob("u", 'Executable = "/x";'),
      "USER:u",
    );
    await t.store.claim(SLOT, AGENT, () => true);
    const sweeper = new Sweeper(t.store, {
      intervalSeconds: 0.05,
      zombieAfterSeconds: 0.05,
      maxResubmissions: 0,
    });
    sweeper.start();
    await eventually(
      "a timed sweep",
      async () => (await t.store.get(id))?.state === "ZOMBIE",
    );
    await sweeper.stop();
  } finally {
    await t.close();
  }
});

Deno.test("the sweeper refuses a non-positive interval", async () => {
  const t = await tempStore();
  try {
    assertThrows(
      () => new Sweeper(t.store, { intervalSeconds: 0 }),
      RangeError,
      "positive",
    );
  } finally {
    await t.close();
  }
});
