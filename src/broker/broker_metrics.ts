/**
 * The broker's Prometheus metrics (`GET /metrics`, admin USER tokens
 * only): jobs by state and by user, matches and their latency, submissions,
 * token issues, request latency by route and status, the agents seen by
 * site and CE, sweeper actions and store latency.
 *
 * Job counts are read from the store at each scrape, so every replica of
 * a broker reports the same numbers; the rest counts what this process did.
 *
 * @example
 * ```ts ignore
 * const metrics = new BrokerMetrics();
 * const store = metrics.timeStore(new SqliteJobStore("jobs.db"));
 * await metrics.text(store, siteRegistry); // "# HELP splitpilot_jobs …"
 * ```
 *
 * @module
 */
import {
  type Counter,
  type Gauge,
  type Histogram,
  Registry,
} from "../metrics/registry.ts";
import type { SiteRegistry } from "./site_registry.ts";
import type { JobStore } from "./store.ts";
import type { SweepReport } from "./sweeper.ts";

/** See the module doc. */
export class BrokerMetrics {
  /** Every family, in the order they are written. */
  readonly registry: Registry = new Registry();
  /** Jobs by state (from the store at each scrape). */
  readonly jobs: Gauge = this.registry.gauge(
    "splitpilot_jobs",
    "Jobs by state, as the task queue holds them.",
    ["state"],
  );
  /** Jobs by user and state (from the store at each scrape). */
  readonly userJobs: Gauge = this.registry.gauge(
    "splitpilot_user_jobs",
    "Jobs by owner and state.",
    ["user", "state"],
  );
  /** Match requests by result. */
  readonly matches: Counter = this.registry.counter(
    "splitpilot_matches_total",
    "Match requests answered, by result (job: a job was handed out; empty: nothing fit).",
    ["result"],
  );
  /** Match latency. */
  readonly matchSeconds: Histogram = this.registry.histogram(
    "splitpilot_match_seconds",
    "Time to answer a match request, claim and job token included.",
  );
  /** Submissions. */
  readonly submissions: Counter = this.registry.counter(
    "splitpilot_submissions_total",
    "Jobs submitted (masterjob subjobs each count).",
  );
  /** Tokens issued, by role. */
  readonly tokens: Counter = this.registry.counter(
    "splitpilot_tokens_issued_total",
    "Token certificates issued by the broker, by role.",
    ["role"],
  );
  /** Request latency by route and status. */
  readonly requests: Histogram = this.registry.histogram(
    "splitpilot_request_seconds",
    "HTTP request latency by route and status (its _count is the request count).",
    ["route", "status"],
  );
  /** Agents seen in the last hour. */
  readonly agents: Gauge = this.registry.gauge(
    "splitpilot_agents",
    "Agents seen in the last hour, by site and CE.",
    ["site", "ce"],
  );
  /** Their cores. */
  readonly agentCores: Gauge = this.registry.gauge(
    "splitpilot_agent_cores",
    "Cores those agents offered in their last match, by site and CE.",
    ["site", "ce"],
  );
  /** Their last contact. */
  readonly agentContact: Gauge = this.registry.gauge(
    "splitpilot_agent_last_contact_timestamp_seconds",
    "Last match or heartbeat of any agent of the site and CE, Unix time.",
    ["site", "ce"],
  );
  /** Sweeper actions. */
  readonly sweeps: Counter = this.registry.counter(
    "splitpilot_sweeper_actions_total",
    "Jobs the sweeper moved, by action (zombie, requeued, expired).",
    ["action"],
  );
  /** Store latency. */
  readonly storeSeconds: Histogram = this.registry.histogram(
    "splitpilot_store_seconds",
    "Time of each task-queue operation, by operation.",
    ["op"],
  );

  /** Permission-audit verdicts (src/broker/audit_book.ts). */
  readonly auditVerdicts: Counter = this.registry.counter(
    "splitpilot_audit_verdicts_total",
    "Wrapper permission audits filed with a job's outcome, by result (clean, violation, off).",
    ["result"],
  );
  /** Accesses outside the table, by agent. */
  readonly auditOutside: Counter = this.registry.counter(
    "splitpilot_audit_outside_total",
    "Distinct accesses outside the permission table in audited wrappers, by agent (token subject).",
    ["agent"],
  );

  /** Counts a sweep's actions (a Sweeper `onSweep` callback). */
  sweep(r: SweepReport): void {
    this.sweeps.inc({ action: "zombie" }, r.zombies.length);
    this.sweeps.inc({ action: "requeued" }, r.requeued.length);
    this.sweeps.inc({ action: "expired" }, r.expired.length);
  }

  /**
   * `store`, with every operation timed into `splitpilot_store_seconds`.
   * Calls go to the store itself (private fields intact).
   */
  timeStore(store: JobStore): JobStore {
    const hist = this.storeSeconds;
    return new Proxy(store, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== "function" || prop === "constructor") return v;
        return (...args: unknown[]) => {
          const t0 = performance.now();
          const r = v.apply(target, args);
          if (!(r instanceof Promise)) return r;
          return r.finally(() =>
            hist.observe({ op: String(prop) }, (performance.now() - t0) / 1000)
          );
        };
      },
    });
  }

  /** The exposition text, with the job and agent gauges read now. */
  async text(store: JobStore, sites: SiteRegistry): Promise<string> {
    this.jobs.reset();
    this.userJobs.reset();
    const byState = new Map<string, number>();
    for (const r of await store.countJobs()) {
      byState.set(r.state, (byState.get(r.state) ?? 0) + r.n);
      this.userJobs.set({ user: r.owner, state: r.state }, r.n);
    }
    for (const [state, n] of byState) this.jobs.set({ state }, n);
    this.agents.reset();
    this.agentCores.reset();
    this.agentContact.reset();
    for (const a of sites.agentGroups()) {
      const l = { site: a.site, ce: a.ce };
      this.agents.set(l, a.agents);
      this.agentCores.set(l, a.cores);
      this.agentContact.set(l, Math.round(a.lastContact / 1000));
    }
    return this.registry.text();
  }
}
