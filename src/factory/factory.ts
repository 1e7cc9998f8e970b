/**
 * A pilot factory (JAliEn's CE service, a glideinWMS factory): it watches
 * the task queue and keeps a site's batch system supplied with pilots.
 *
 * Each cycle it:
 * 1. lists its pilots in the batch system (found by job name, so a
 *    restarted factory picks up the ones it submitted before);
 * 2. asks the broker how many WAITING jobs a slot of this site could be
 *    given;
 * 3. submits `min(ceil(waiting / cores) − queued, maxQueued − queued,
 *    maxRunning − running − queued)` pilots, each a startup script with a
 *    fresh, short-lived agent token the broker issues for it;
 * 4. cancels its queued pilots once nothing waits for them;
 * 5. reports its pilot counts and recent failures to the broker (the site
 *    view of `splitpilot site status`).
 *
 * It never floods: a pilot that fails within `youngSeconds` of being seen
 * running (or before it ever ran) doubles a back-off during which nothing
 * is submitted, up to `maxBackoffSeconds`; a pilot that ends well resets it.
 *
 * @example
 * ```ts ignore
 * import { Factory, SlurmBatch } from "./mod.ts";
 * const factory = new Factory({ site: "CERN", cores: 8, ttlSeconds: 86400,
 *   broker: "broker.example.org:8443", workDir: "/var/lib/splitpilot-factory" },
 *   new SlurmBatch({ partition: "grid" }), brokerApi);
 * await factory.run(AbortSignal.timeout(3600_000));
 * ```
 *
 * @module
 */
import { renderStartupScript } from "../site/startup_script.ts";
import type { TokenPem } from "../client/broker_client.ts";
import type { BatchSystem, PilotState } from "./batch_system.ts";

/** What the factory needs from the broker (see src/broker/site_service.ts). */
export interface FactoryBrokerApi {
  /** WAITING jobs a slot like this could be given. */
  demand(slot: { cores: number; ttl: number; ce?: string }): Promise<number>;
  /** A fresh agent token for one pilot, and the artefacts to check. */
  pilot(ttlSeconds: number): Promise<{
    token: TokenPem;
    notAfter: string;
    artefacts: { agent: string; wrapper: string };
  }>;
  /** The factory's counts. */
  report(report: FactoryStatus): Promise<void>;
}

/** Options of {@link Factory}. */
export interface FactoryOptions {
  /** Site name (agent `--site`, and the factory token's subject). */
  site: string;
  /** CE name (agent `--ce`). */
  ce?: string;
  /** Broker `host:port` the pilots fetch their agent from. */
  broker: string;
  /** Cores per pilot. @default 1 */
  cores?: number;
  /** Wall-clock limit per pilot, s. @default 86400 */
  ttlSeconds?: number;
  /** Queue or partition. */
  queue?: string;
  /** Most pilots queued at once. @default 10 */
  maxQueued?: number;
  /** Most pilots queued and running at once. @default 100 */
  maxRunning?: number;
  /**
   * Lifetime of each pilot's agent token, s: the slot plus the time it may
   * wait in the queue. @default ttlSeconds + 7200
   */
  tokenTtlSeconds?: number;
  /** Where scripts (0700, removed once the pilot ended) and batch logs go. */
  workDir: string;
  /** More agent flags for every pilot (e.g. `--containers bwrap`). @default [] */
  agentArgs?: string[];
  /** Seconds between cycles. @default 30 */
  intervalSeconds?: number;
  /** A pilot failing sooner than this counts as dying young. @default 120 */
  youngSeconds?: number;
  /** Longest back-off, s. @default 900 */
  maxBackoffSeconds?: number;
  /** Log sink. @default console.error */
  log?: (line: string) => void;
}

/** The counts a factory reports (`PUT /api/v1/factory/pilots`). */
export interface FactoryStatus {
  /** Batch system. */
  batch: string;
  /** Pilot counts: now queued and running, ended since the factory started. */
  pilots: { queued: number; running: number; finished: number; failed: number };
  /** Recent failures, newest last. */
  failures: { id: string; reason: string; at: number }[];
  /** While backing off: until when, ms since epoch. */
  backoffUntil?: number;
}

/** What one cycle did. */
export interface CycleResult {
  /** WAITING jobs the broker reported. */
  waiting: number;
  /** Pilots submitted. */
  submitted: string[];
  /** Queued pilots cancelled. */
  cancelled: string[];
  /** The counts after the cycle. */
  status: FactoryStatus;
}

interface Tracked {
  state: PilotState;
  /** First cycle that saw it running, ms. */
  runningSince?: number;
  /** Script to remove once it ended. */
  script?: string;
}

const ENDED: ReadonlySet<PilotState> = new Set([
  "finished",
  "failed",
  "cancelled",
]);

/** See the module doc. */
export class Factory {
  #o: Required<Omit<FactoryOptions, "ce" | "queue">> & FactoryOptions;
  #batch: BatchSystem;
  #broker: FactoryBrokerApi;
  #pilots = new Map<string, Tracked>();
  #finished = 0;
  #failed = 0;
  #failures: FactoryStatus["failures"] = [];
  #backoffMs = 0;
  #backoffUntil = 0;

  /** A factory for `opts.site` on `batch`, fed by `broker`. */
  constructor(
    opts: FactoryOptions,
    batch: BatchSystem,
    broker: FactoryBrokerApi,
  ) {
    const ttl = opts.ttlSeconds ?? 86400;
    this.#o = {
      cores: 1,
      maxQueued: 10,
      maxRunning: 100,
      tokenTtlSeconds: ttl + 7200,
      agentArgs: [],
      intervalSeconds: 30,
      youngSeconds: 120,
      maxBackoffSeconds: 900,
      log: (l: string) => console.error(l),
      // Options left undefined keep their defaults.
      ...Object.fromEntries(
        Object.entries(opts).filter(([, v]) => v !== undefined),
      ) as FactoryOptions,
      ttlSeconds: ttl,
    };
    this.#batch = batch;
    this.#broker = broker;
  }

  /** The job name every pilot of this factory carries. */
  get pilotName(): string {
    return `splitpilot-${this.#o.site}`;
  }

  /** Runs cycles until `signal` aborts; a failed cycle is logged and retried. */
  async run(signal: AbortSignal): Promise<void> {
    await Deno.mkdir(`${this.#o.workDir}/scripts`, {
      recursive: true,
      mode: 0o700,
    });
    await Deno.mkdir(`${this.#o.workDir}/log`, {
      recursive: true,
      mode: 0o700,
    });
    while (!signal.aborted) {
      try {
        const r = await this.cycle();
        if (r.submitted.length || r.cancelled.length) {
          this.#log(
            `waiting ${r.waiting}: submitted ${r.submitted.length}, cancelled ${r.cancelled.length}; queued ${r.status.pilots.queued}, running ${r.status.pilots.running}`,
          );
        }
      } catch (e) {
        this.#log(`cycle failed: ${(e as Error).message}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, this.#o.intervalSeconds * 1000);
        function done() {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done);
      });
    }
  }

  /** One cycle (see the module doc). */
  async cycle(now: number = Date.now()): Promise<CycleResult> {
    await this.#refresh(now);
    const waiting = await this.#broker.demand({
      cores: this.#o.cores,
      ttl: this.#o.ttlSeconds,
      ce: this.#o.ce,
    });
    const cancelled: string[] = [];
    if (waiting === 0) {
      for (const [id, p] of this.#pilots) {
        if (p.state !== "queued") continue;
        await this.#batch.cancel(id);
        p.state = "cancelled";
        this.#finished++;
        await this.#ended(p);
        cancelled.push(id);
      }
    }
    let { queued, running } = this.#counts();
    const want = Math.min(
      Math.ceil(waiting / this.#o.cores) - queued,
      this.#o.maxQueued - queued,
      this.#o.maxRunning - running - queued,
    );
    const submitted: string[] = [];
    if (want > 0 && now < this.#backoffUntil) {
      this.#log(
        `backing off until ${
          new Date(this.#backoffUntil).toISOString()
        }: pilots died young`,
      );
    } else {
      for (let i = 0; i < want; i++) {
        submitted.push(await this.#submit());
        queued++;
      }
    }
    ({ queued, running } = this.#counts());
    const status = this.status();
    await this.#broker.report(status);
    return { waiting, submitted, cancelled, status };
  }

  /** The counts as reported. */
  status(): FactoryStatus {
    const { queued, running } = this.#counts();
    return {
      batch: this.#batch.name,
      pilots: {
        queued,
        running,
        finished: this.#finished,
        failed: this.#failed,
      },
      failures: [...this.#failures],
      backoffUntil: this.#backoffUntil > Date.now()
        ? this.#backoffUntil
        : undefined,
    };
  }

  #counts(): { queued: number; running: number } {
    let queued = 0;
    let running = 0;
    for (const p of this.#pilots.values()) {
      if (p.state === "queued") queued++;
      else if (p.state === "running") running++;
    }
    return { queued, running };
  }

  async #refresh(now: number): Promise<void> {
    const seen = new Set<string>();
    let young = 0;
    let healthy = 0;
    for (const s of await this.#batch.status(this.pilotName)) {
      seen.add(s.id);
      let p = this.#pilots.get(s.id);
      if (!p) {
        // Submitted by an earlier run of this factory.
        p = { state: s.state };
        this.#pilots.set(s.id, p);
        if (ENDED.has(s.state)) continue; // its end was counted back then
      }
      if (ENDED.has(p.state)) continue;
      if (s.state === "running" && p.runningSince === undefined) {
        p.runningSince = now;
      }
      p.state = s.state;
      if (!ENDED.has(s.state)) continue;
      await this.#ended(p);
      if (s.state === "finished") {
        this.#finished++;
        healthy++;
        continue;
      }
      this.#failed++;
      const reason = `${s.raw}${s.reason ? ` (${s.reason})` : ""}`;
      this.#failures.push({ id: s.id, reason, at: now });
      if (this.#failures.length > 20) this.#failures.shift();
      const lived = p.runningSince === undefined ? 0 : now - p.runningSince;
      if (lived < this.#o.youngSeconds * 1000) young++;
      else healthy++;
    }
    // Pilots the batch system has forgotten ended while we were not looking.
    for (const [id, p] of this.#pilots) {
      if (seen.has(id)) continue;
      if (!ENDED.has(p.state)) {
        p.state = "finished";
        this.#finished++;
        await this.#ended(p);
      }
      this.#pilots.delete(id);
    }
    if (young > 0) {
      this.#backoffMs = Math.min(
        Math.max(this.#backoffMs * 2, this.#o.intervalSeconds * 1000),
        this.#o.maxBackoffSeconds * 1000,
      );
      this.#backoffUntil = now + this.#backoffMs;
      this.#log(
        `${young} pilot(s) died young: no submissions for ${
          this.#backoffMs / 1000
        } s`,
      );
    } else if (healthy > 0) {
      this.#backoffMs = 0;
      this.#backoffUntil = 0;
    }
  }

  /** A pilot ended: its script (and the token in it) goes. */
  async #ended(p: Tracked): Promise<void> {
    if (p.script) {
      await Deno.remove(p.script).catch(() => {});
      p.script = undefined;
    }
  }

  async #submit(): Promise<string> {
    const grant = await this.#broker.pilot(this.#o.tokenTtlSeconds);
    const text = renderStartupScript({
      broker: this.#o.broker,
      token: grant.token,
      caPem: grant.token.caPem,
      agentSha256: grant.artefacts.agent,
      wrapperSha256: grant.artefacts.wrapper,
      site: this.#o.site,
      ce: this.#o.ce,
      tokenNotAfter: new Date(grant.notAfter),
      agentArgs: this.#o.agentArgs,
    });
    const script = `${this.#o.workDir}/scripts/pilot-${crypto.randomUUID()}.sh`;
    await Deno.writeTextFile(script, text, { createNew: true, mode: 0o700 });
    let id: string;
    try {
      id = await this.#batch.submit({
        script,
        name: this.pilotName,
        cores: this.#o.cores,
        ttlSeconds: this.#o.ttlSeconds,
        queue: this.#o.queue,
        logDir: `${this.#o.workDir}/log`,
      });
    } catch (e) {
      await Deno.remove(script).catch(() => {});
      throw e;
    }
    this.#pilots.set(id, { state: "queued", script });
    return id;
  }

  #log(line: string): void {
    this.#o.log(`[factory ${this.#o.site}] ${line}`);
  }
}
