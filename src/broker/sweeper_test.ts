import { assertEquals, assertThrows } from "@std/assert";
import { Sweeper } from "./sweeper.ts";
import { newJob, tempStore } from "../../tests/_queue.ts";

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
    // Within the limit: nothing happens.
    assertEquals(await sweeper.sweep(Date.now() + 5_000), {
      zombies: [],
      requeued: [],
      expired: [],
    });
    assertEquals(await sweeper.sweep(Date.now() + 11_000), {
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
      trace.at(-2)!.reason.startsWith("no heartbeat for 11 s"),
      true,
    );
    // Second time: the limit is reached, it stays ZOMBIE.
    await t.store.claim(SLOT, AGENT, () => true);
    const report = await sweeper.sweep(Date.now() + 11_000);
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
    const sweeper = new Sweeper(t.store, { zombieAfterSeconds: 0.05 });
    await new Promise((r) => setTimeout(r, 80));
    await t.store.heartbeat(id, undefined);
    assertEquals((await sweeper.sweep()).zombies, []);
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
    const deadline = Date.now() + 5000;
    while ((await t.store.get(id))?.state !== "ZOMBIE") {
      if (Date.now() > deadline) throw new Error("no sweep within 5 s");
      await new Promise((r) => setTimeout(r, 20));
    }
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
