/**
 * What every broker route works on: the store, blobs and token issuer,
 * the options, metrics, and the caches the routes share (parsed JDLs,
 * recent offers, live logs, masterjobs). One instance per handler.
 *
 * @module
 */
import { type JobDescription, parseJdl } from "../jdl/mod.ts";
import type { TokenIssuer, TokenVerifier } from "../token/mod.ts";
import { ACTIVE_STATES, type JobState } from "../protocol/job_state.ts";
import { ArtefactStore } from "../site/artefact_store.ts";
import { AuditBook } from "./audit_book.ts";
import { recordAccounting } from "./attempts.ts";
import type { BlobStore } from "./blob_store.ts";
import type { BrokerMetrics } from "./broker_metrics.ts";
import { jobOutputDir } from "./lfn.ts";
import { LiveLog } from "./live_log.ts";
import { MasterJobs } from "./masterjobs.ts";
import { RecentOffers } from "./recent_offers.ts";
import { SiteService } from "./site_service.ts";
import { SqliteJobStore } from "./store_sqlite.ts";
import type { JobRecord, JobStore } from "./store.ts";
import { DEFAULT_MAX_UPLOAD_BYTES } from "./upload_limit.ts";
import { explainWait, WHY_WINDOW_MS } from "./why.ts";

/** Options of `createBrokerHandler` (`./handler.ts`). */
export interface BrokerOptions {
  /** Extra lifetime of a job token beyond the job TTL, s. @default 600 */
  jobTokenMarginSeconds?: number;
  /** Automatic resubmissions before a failure is final. @default 10 */
  maxResubmissions?: number;
  /**
   * Seconds a job may wait when its JDL has no `MaxWaitingTime`; then it
   * becomes EXPIRED. @default 604800 (7 days)
   */
  maxWaitingSeconds?: number;
  /**
   * Running jobs (ASSIGNED to SAVING) one user may have; per-user values
   * set in the store win. @default Infinity
   */
  userQuota?: number;
  /**
   * Seconds between sweeps for zombies and expired jobs (used by
   * `startBroker`; 0 = no sweeper). @default 30
   */
  sweepIntervalSeconds?: number;
  /**
   * Seconds without a heartbeat after which an active job becomes ZOMBIE
   * (used by `startBroker`). @default 900
   */
  zombieAfterSeconds?: number;
  /** Largest JDL accepted, bytes. @default 262144 */
  maxJdlBytes?: number;
  /** Largest file upload, bytes. @default 4 GiB */
  maxUploadBytes?: number;
  /**
   * Directory of built artefacts served to agents at
   * `GET /api/v1/artefacts/<name>` (`startBroker`: `<state>/artefacts`).
   * @default none (404)
   */
  artefactsDir?: string;
  /**
   * Called after submit or match committed, before the answer is sent.
   * Tests use it to crash the broker at exactly that point.
   */
  afterCommit?: (op: "submit" | "match", jobId: string) => void;
  /**
   * Metrics to count into (shared with the sweeper by `startBroker`).
   * @default a fresh set
   */
  metrics?: BrokerMetrics;
  /** Called with unexpected errors (500s). @default console.error */
  onError?: (e: unknown, req: Request) => void;
  /**
   * Jobs with a permission-audit violation after which an agent
   * certificate stops matching (`src/broker/audit_book.ts`). @default 2
   */
  auditStrikes?: number;
}

/** What the handler works on. */
export interface BrokerDeps {
  /** The task queue. */
  store: JobStore;
  /** File contents. */
  blobs: BlobStore;
  /** Issues job tokens at match time. */
  issuer: TokenIssuer;
  /** Verifies client certificates. */
  verifier: TokenVerifier;
  /** Masterjobs; opened next to a SQLite store when absent. */
  masters?: MasterJobs;
}

/** The broker's state, shared by its route handlers. */
export class BrokerContext {
  /** Dependencies; `store` is timed into the metrics. */
  readonly deps: BrokerDeps;
  /** The store itself (not the timed wrapper), for masterjob tables. */
  readonly rawStore: JobStore;
  /** Metrics to count into. */
  readonly metrics: BrokerMetrics;
  /** Extra lifetime of a job token beyond the job TTL, s. */
  readonly tokenMargin: number;
  /** Automatic resubmissions before a failure is final. */
  readonly maxResubmissions: number;
  /** Default maximum waiting time, s. */
  readonly maxWaitingSeconds: number;
  /** Running jobs per user unless the store says otherwise. */
  readonly userQuota: number;
  /** Largest JDL, bytes. */
  readonly maxJdlBytes: number;
  /** Largest upload, bytes. */
  readonly maxUploadBytes: number;
  /** Built artefacts, if served. */
  readonly artefacts?: ArtefactStore;
  /** Test hook after a committed submit or match. */
  readonly afterCommit: BrokerOptions["afterCommit"];
  /** Sites, agents and pilot factories. */
  readonly sites: SiteService;
  /** Live output of running jobs. */
  readonly live = new LiveLog();
  /** What agents offered lately (for "why is my job waiting"). */
  readonly offers = new RecentOffers();
  /** Wrappers' permission-audit verdicts, and agents' strikes. */
  readonly audit: AuditBook;
  #parsed = new Map<string, JobDescription>();
  #masters?: Promise<MasterJobs | undefined>;

  /** The context of one handler. */
  constructor(deps: BrokerDeps, opts: BrokerOptions, metrics: BrokerMetrics) {
    this.metrics = metrics;
    this.deps = { ...deps, store: metrics.timeStore(deps.store) };
    this.rawStore = deps.store;
    this.audit = new AuditBook(this.deps, metrics, opts.auditStrikes);
    this.tokenMargin = opts.jobTokenMarginSeconds ?? 600;
    this.maxResubmissions = opts.maxResubmissions ?? 10;
    this.maxWaitingSeconds = opts.maxWaitingSeconds ?? 7 * 24 * 3600;
    this.userQuota = opts.userQuota ?? Infinity;
    this.maxJdlBytes = opts.maxJdlBytes ?? 256 * 1024;
    this.afterCommit = opts.afterCommit;
    this.maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    if (opts.artefactsDir) {
      this.artefacts = new ArtefactStore(opts.artefactsDir);
    }
    this.sites = new SiteService(
      this.deps.store,
      deps.issuer,
      this.artefacts,
      () => metrics.tokens.inc({ role: "JOB_AGENT" }),
    );
  }

  /** The (timed) task queue. */
  get store(): JobStore {
    return this.deps.store;
  }

  /** Masterjob bookkeeping (opened on first use). */
  masterJobs(): Promise<MasterJobs | undefined> {
    const store = this.rawStore;
    this.#masters ??= this.deps.masters
      ? Promise.resolve(this.deps.masters)
      : store instanceof SqliteJobStore
      ? MasterJobs.open(store)
      : Promise.resolve(undefined);
    return this.#masters;
  }

  /** Parsed JDL of a job, cached (JDLs never change after submission). */
  jdl(job: JobRecord): JobDescription {
    let jd = this.#parsed.get(job.id);
    if (!jd) {
      jd = parseJdl(job.jdl, { strict: false });
      if (this.#parsed.size > 10000) this.#parsed.clear();
      this.#parsed.set(job.id, jd);
    }
    return jd;
  }

  /** The LFNs a job declared as inputs. */
  inputs(job: JobRecord): string[] {
    const jd = this.jdl(job);
    return [...jd.inputFile, ...jd.inputData];
  }

  /** Why a waiting job waits; undefined for other states. */
  waitReason(job: JobRecord): string | undefined {
    if (job.state !== "WAITING") return undefined;
    try {
      return explainWait(
        this.jdl(job),
        this.offers.since(Date.now() - WHY_WINDOW_MS),
      );
    } catch {
      return undefined;
    }
  }

  /** Files an attempt's accounting once it ends (see attempts.ts). */
  async account(
    job: JobRecord,
    state: JobState,
    exitCode: number | undefined,
    killReason: number | undefined,
    usage: JobRecord["usage"],
  ): Promise<void> {
    if (!usage || ACTIVE_STATES.has(state)) return;
    await recordAccounting(
      this.deps,
      jobOutputDir(job.owner, job.id),
      job.owner,
      job.id,
      {
        attempt: job.resubmissions,
        state,
        exitCode: exitCode ?? job.exitCode,
        killReason: killReason ?? job.killReason,
        usage,
        at: new Date().toISOString(),
      },
    ).catch(() => {/* a copy: the job row keeps the usage too */});
  }
}
