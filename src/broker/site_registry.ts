/**
 * What the broker knows about sites, for `splitpilot site status`: the
 * agents it has seen (from their match requests) and the pilot counts the
 * sites' factories report.
 *
 * It is a view, kept in memory like a monitoring service's: a restarted
 * broker knows a site again at its factory's next report (every cycle) and
 * its agents' next match. Nothing in the task queue depends on it.
 *
 * @module
 */

/** Pilot counts of one factory, as it last reported them. */
export interface PilotCounts {
  /** Submitted, not started yet. */
  queued: number;
  /** Running in the batch system. */
  running: number;
  /** Ended normally. */
  finished: number;
  /** Ended in failure (died young, cancelled by the batch system, …). */
  failed: number;
}

/** One recent pilot failure. */
export interface PilotFailure {
  /** Batch job ID. */
  id: string;
  /** What the batch system or the factory says. */
  reason: string;
  /** When the factory saw it, ms since epoch. */
  at: number;
}

/** A factory's report (`PUT /api/v1/factory/pilots`). */
export interface FactoryReport {
  /** Batch system name (slurm, htcondor, pbs). */
  batch: string;
  /** Pilot counts. */
  pilots: PilotCounts;
  /** Recent failures, newest last (the broker keeps the last 20). */
  failures: PilotFailure[];
  /** Whether the factory is backing off after pilots died young. */
  backoffUntil?: number;
}

/** One site as `GET /api/v1/sites` shows it. */
export interface SiteView {
  /** Site name. */
  site: string;
  /** The last factory report, if any. */
  factory?: FactoryReport & { reportedAt: number };
  /** Agents seen in the last hour. */
  agents: number;
  /** Cores those agents offered in their last match. */
  cores: number;
  /** Jobs ASSIGNED to SAVING on agents of this site. */
  jobsRunning: number;
  /** Last contact of any agent or factory of this site, ms since epoch. */
  lastContact?: number;
}

interface AgentSeen {
  site: string;
  ce: string;
  cpuCores: number;
  at: number;
}

/** Agents of one site and CE (for metrics). */
export interface AgentGroup {
  /** Site. */
  site: string;
  /** CE (`""` when none). */
  ce: string;
  /** Agents seen in the last hour. */
  agents: number;
  /** Cores they offered. */
  cores: number;
  /** Last contact, ms since epoch. */
  lastContact: number;
}

const AGENT_WINDOW_MS = 3600_000;
const MAX_FAILURES = 20;

/** See the module doc. */
export class SiteRegistry {
  #agents = new Map<string, AgentSeen>();
  #factories = new Map<string, FactoryReport & { reportedAt: number }>();

  /** Records an agent's match request (`fingerprint` of its certificate). */
  agentSeen(
    fingerprint: string,
    site: string | undefined,
    cpuCores: number,
    now: number = Date.now(),
    ce?: string,
  ): void {
    this.#agents.set(fingerprint, {
      site: site ?? "(none)",
      ce: ce ?? "",
      cpuCores,
      at: now,
    });
    if (this.#agents.size > 100_000) this.#prune(now);
  }

  /** An agent already seen is alive (a heartbeat for one of its jobs). */
  touch(fingerprint: string, now: number = Date.now()): void {
    const a = this.#agents.get(fingerprint);
    if (a) a.at = now;
  }

  /** Records a factory's report for `site`. */
  factoryReport(
    site: string,
    report: FactoryReport,
    now: number = Date.now(),
  ): void {
    this.#factories.set(site, {
      ...report,
      failures: report.failures.slice(-MAX_FAILURES),
      reportedAt: now,
    });
  }

  /** The site an agent certificate last matched for. */
  siteOf(fingerprint: string): string | undefined {
    return this.#agents.get(fingerprint)?.site;
  }

  /**
   * Every site seen, by name. `activeAgents` lists the agent fingerprint
   * of each active job (one entry per job).
   */
  view(activeAgents: Iterable<string>, now: number = Date.now()): SiteView[] {
    this.#prune(now);
    const sites = new Map<string, SiteView>();
    const get = (site: string) => {
      let v = sites.get(site);
      if (!v) {
        v = { site, agents: 0, cores: 0, jobsRunning: 0 };
        sites.set(site, v);
      }
      return v;
    };
    for (const a of this.#agents.values()) {
      const v = get(a.site);
      v.agents++;
      v.cores += a.cpuCores;
      v.lastContact = Math.max(v.lastContact ?? 0, a.at);
    }
    for (const [site, f] of this.#factories) {
      const v = get(site);
      v.factory = f;
      v.lastContact = Math.max(v.lastContact ?? 0, f.reportedAt);
    }
    for (const fp of activeAgents) {
      const site = this.#agents.get(fp)?.site;
      if (site !== undefined) get(site).jobsRunning++;
    }
    return [...sites.values()].sort((a, b) => a.site.localeCompare(b.site));
  }

  /** Agents seen in the last hour, grouped by site and CE. */
  agentGroups(now: number = Date.now()): AgentGroup[] {
    this.#prune(now);
    const groups = new Map<string, AgentGroup>();
    for (const a of this.#agents.values()) {
      const key = `${a.site}\u0000${a.ce}`;
      let g = groups.get(key);
      if (!g) {
        g = { site: a.site, ce: a.ce, agents: 0, cores: 0, lastContact: 0 };
        groups.set(key, g);
      }
      g.agents++;
      g.cores += a.cpuCores;
      g.lastContact = Math.max(g.lastContact, a.at);
    }
    return [...groups.values()];
  }

  #prune(now: number): void {
    for (const [fp, a] of this.#agents) {
      if (now - a.at > AGENT_WINDOW_MS) this.#agents.delete(fp);
    }
  }
}
