import { assert, assertEquals } from "@std/assert";
import type {
  BatchSystem,
  PilotRequest,
  PilotState,
  PilotStatus,
} from "./batch_system.ts";
import {
  Factory,
  type FactoryBrokerApi,
  type FactoryStatus,
} from "./factory.ts";

const SHA = "a".repeat(64);
const PEM = (t: string) => `-----BEGIN ${t}-----\nAAAA\n-----END ${t}-----`;

/** A batch system in memory: pilots change state when the test says. */
class FakeBatch implements BatchSystem {
  readonly name = "fake";
  pilots = new Map<string, { state: PilotState; raw: string; name: string }>();
  submitted: PilotRequest[] = [];
  cancelled: string[] = [];
  #next = 100;
  submit(req: PilotRequest): Promise<string> {
    const id = String(this.#next++);
    this.submitted.push(req);
    this.pilots.set(id, { state: "queued", raw: "PENDING", name: req.name });
    return Promise.resolve(id);
  }
  status(name: string): Promise<PilotStatus[]> {
    return Promise.resolve(
      [...this.pilots].filter(([, p]) => p.name === name).map(([id, p]) => ({
        id,
        state: p.state,
        raw: p.raw,
      })),
    );
  }
  cancel(id: string): Promise<void> {
    this.cancelled.push(id);
    const p = this.pilots.get(id);
    if (p) Object.assign(p, { state: "cancelled", raw: "CANCELLED" });
    return Promise.resolve();
  }
  set(id: string, state: PilotState, raw: string) {
    Object.assign(this.pilots.get(id)!, { state, raw });
  }
}

class FakeBroker implements FactoryBrokerApi {
  waiting = 0;
  reports: FactoryStatus[] = [];
  tokens = 0;
  demand() {
    return Promise.resolve(this.waiting);
  }
  pilot(_ttl: number) {
    this.tokens++;
    return Promise.resolve({
      token: {
        certPem: PEM("CERTIFICATE"),
        keyPem: PEM("PRIVATE KEY"),
        caPem: PEM("CERTIFICATE"),
      },
      notAfter: new Date(Date.now() + 3600_000).toISOString(),
      artefacts: { agent: SHA, wrapper: SHA },
    });
  }
  report(r: FactoryStatus) {
    this.reports.push(r);
    return Promise.resolve();
  }
}

async function setup(
  opts: { cores?: number; maxQueued?: number; maxRunning?: number } = {},
) {
  const workDir = await Deno.makeTempDir();
  await Deno.mkdir(`${workDir}/scripts`);
  const batch = new FakeBatch();
  const broker = new FakeBroker();
  const factory = new Factory(
    {
      site: "CERN",
      broker: "broker.example.org:8443",
      workDir,
      intervalSeconds: 10,
      youngSeconds: 60,
      maxBackoffSeconds: 40,
      log: () => {},
      ...opts,
    },
    batch,
    broker,
  );
  return { workDir, batch, broker, factory };
}

Deno.test("factory: submits what the queue needs, within max-queued and max-running", async () => {
  const { workDir, batch, broker, factory } = await setup({
    maxQueued: 3,
    maxRunning: 5,
  });
  try {
    broker.waiting = 10;
    let r = await factory.cycle();
    assertEquals(r.submitted.length, 3, "max-queued");
    // Two start running: room for two more queued, and 5 in all.
    batch.set(r.submitted[0], "running", "RUNNING");
    batch.set(r.submitted[1], "running", "RUNNING");
    r = await factory.cycle();
    assertEquals(r.submitted.length, 2);
    assertEquals(r.status.pilots, {
      queued: 3,
      running: 2,
      finished: 0,
      failed: 0,
    });
    r = await factory.cycle();
    assertEquals(r.submitted.length, 0, "max-running reached");
    assertEquals(broker.tokens, 5, "one fresh token per pilot");
    // Each script holds its token, is private, names the site.
    const req = batch.submitted[0];
    assertEquals((await Deno.stat(req.script)).mode! & 0o777, 0o700);
    const text = await Deno.readTextFile(req.script);
    assert(text.includes("'--site' 'CERN'"), text);
    assert(
      !text.includes("'--cores'"),
      "the agent reads its slot from the batch system",
    );
    assertEquals(req.name, "splitpilot-CERN");
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("factory: cores per pilot divide the need; an empty queue cancels queued pilots", async () => {
  const { workDir, batch, broker, factory } = await setup({
    cores: 4,
    maxQueued: 10,
  });
  try {
    broker.waiting = 9;
    let r = await factory.cycle();
    assertEquals(r.submitted.length, 3, "ceil(9 / 4)");
    batch.set(r.submitted[0], "running", "RUNNING");
    broker.waiting = 0;
    r = await factory.cycle();
    const queued = [...batch.pilots.keys()].slice(1);
    assertEquals(r.cancelled.sort(), queued.sort());
    assertEquals(r.status.pilots.queued, 0);
    assertEquals(
      r.status.pilots.running,
      1,
      "a running pilot is left to drain",
    );
    assertEquals(
      r.status.pilots.failed,
      0,
      "our own cancellations are no failures",
    );
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("factory: pilots dying young stop submissions with a doubling back-off; a healthy end resets it", async () => {
  const { workDir, batch, broker, factory } = await setup({ maxQueued: 2 });
  try {
    broker.waiting = 100;
    const t0 = Date.now();
    let r = await factory.cycle(t0);
    assertEquals(r.submitted.length, 2);
    for (const id of r.submitted) batch.set(id, "failed", "FAILED");
    r = await factory.cycle(t0 + 1000);
    assertEquals(r.submitted.length, 0, "backing off");
    assertEquals(r.status.pilots.failed, 2);
    assertEquals(r.status.failures.map((f) => f.reason), ["FAILED", "FAILED"]);
    assert(r.status.backoffUntil !== undefined);
    r = await factory.cycle(t0 + 5000);
    assertEquals(
      r.submitted.length,
      0,
      "still within the first back-off (10 s)",
    );
    r = await factory.cycle(t0 + 12_000);
    assertEquals(r.submitted.length, 2, "back-off over");
    for (const id of r.submitted) batch.set(id, "failed", "NODE_FAIL");
    r = await factory.cycle(t0 + 13_000);
    assertEquals(r.submitted.length, 0);
    r = await factory.cycle(t0 + 13_000 + 15_000);
    assertEquals(r.submitted.length, 0, "the back-off doubled to 20 s");
    r = await factory.cycle(t0 + 13_000 + 21_000);
    assertEquals(r.submitted.length, 2);
    // These run, then end well: the back-off is reset.
    for (const id of r.submitted) batch.set(id, "running", "RUNNING");
    const healthy = r.submitted;
    r = await factory.cycle(t0 + 40_000);
    assertEquals(r.submitted.length, 2, "running pilots leave room to queue");
    for (const id of healthy) batch.set(id, "finished", "COMPLETED");
    for (const id of r.submitted) batch.set(id, "running", "RUNNING");
    r = await factory.cycle(t0 + 200_000);
    assertEquals(r.status.pilots.finished, 2);
    assertEquals(r.status.backoffUntil, undefined, "back-off reset");
    assertEquals(r.submitted.length, 2);
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("factory: a restarted factory adopts the pilots it submitted before", async () => {
  const a = await setup({ maxQueued: 2 });
  try {
    a.broker.waiting = 5;
    await a.factory.cycle();
    const again = new Factory(
      {
        site: "CERN",
        broker: "b:1",
        workDir: a.workDir,
        maxQueued: 2,
        log: () => {},
      },
      a.batch,
      a.broker,
    );
    const r = await again.cycle();
    assertEquals(r.submitted.length, 0, "the two queued pilots count");
    assertEquals(r.status.pilots.queued, 2);
  } finally {
    await Deno.remove(a.workDir, { recursive: true });
  }
});

Deno.test("factory: scripts (and the tokens in them) are removed once the pilot ended", async () => {
  const { workDir, batch, broker, factory } = await setup({ maxQueued: 1 });
  try {
    broker.waiting = 1;
    const r = await factory.cycle();
    const script = batch.submitted[0].script;
    await Deno.stat(script);
    batch.set(r.submitted[0], "finished", "COMPLETED");
    broker.waiting = 0;
    await factory.cycle();
    let gone = false;
    try {
      await Deno.stat(script);
    } catch {
      gone = true;
    }
    assert(gone, "script removed");
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});
