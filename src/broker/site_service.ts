/**
 * The broker's side of pilot factories and the site view:
 *
 * - `POST /api/v1/factory/demand?site=S`: how many WAITING jobs a slot of
 *   the site could be given (the factory submits that many pilots, within
 *   its limits);
 * - `POST /api/v1/factory/pilot?site=S`: a fresh, short-lived JOB_AGENT
 *   token for one pilot, with the sha-256 of the published agent and
 *   wrapper its startup script must check (JAliEn's CE likewise asks the
 *   central services for each JobAgent's token);
 * - `PUT /api/v1/factory/pilots?site=S`: the factory's pilot counts;
 * - `GET /api/v1/sites`: pilots, agents, running jobs and last contact per
 *   site.
 *
 * The factory authenticates with a HOST token whose subject is its site
 * (JAliEn's CE runs with the site's host certificate); the authorization
 * table's `own_site` rule keeps it to that site.
 *
 * @module
 */
import { artefactName } from "../build/site_layout.ts";
import type { ArtefactStore } from "../site/artefact_store.ts";
import type { TokenIssuer } from "../token/mod.ts";
import { badRequest, HttpError, json } from "./errors.ts";
import {
  type FactoryReport,
  type PilotFailure,
  SiteRegistry,
} from "./site_registry.ts";
import type { JobStore } from "./store.ts";

/** Longest lifetime of a pilot's agent token, s (a day past a 2-day slot). */
const MAX_PILOT_TOKEN_S = 3 * 24 * 3600;

function count(body: Record<string, unknown>, key: string): number {
  const v = body[key] ?? 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw badRequest("bad_request", `"${key}": expected a whole number >= 0`);
  }
  return v;
}

function positive(
  body: Record<string, unknown>,
  key: string,
  fallback?: number,
): number {
  const v = body[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw badRequest("bad_request", `"${key}": expected a number > 0`);
  }
  return v;
}

/** See the module doc. */
export class SiteService {
  /** Agents and factory reports. */
  readonly registry: SiteRegistry = new SiteRegistry();
  #store: JobStore;
  #issuer: TokenIssuer;
  #artefacts?: ArtefactStore;

  #onIssue: () => void;

  /** Serves the queue in `store`, tokens from `issuer` (`onIssue` counts each). */
  constructor(
    store: JobStore,
    issuer: TokenIssuer,
    artefacts?: ArtefactStore,
    onIssue: () => void = () => {},
  ) {
    this.#store = store;
    this.#issuer = issuer;
    this.#artefacts = artefacts;
    this.#onIssue = onIssue;
  }

  /** `POST /api/v1/factory/demand`: `{cores, ttl, memory?, disk?, ce?, packages?}`. */
  async demand(site: string, body: Record<string, unknown>): Promise<Response> {
    const cores = positive(body, "cores");
    const ttl = positive(body, "ttl");
    const packages = Array.isArray(body.packages)
      ? body.packages.filter((p): p is string => typeof p === "string")
      : [];
    const waiting = await this.#store.countWaiting({
      cpuCores: cores,
      ttl,
      memory: count(body, "memory"),
      disk: count(body, "disk"),
      site,
      ce: typeof body.ce === "string" ? body.ce : undefined,
      packages,
    });
    return json({ site, waiting });
  }

  /** `POST /api/v1/factory/pilot`: `{ttl}` (token lifetime, s). */
  async pilot(site: string, body: Record<string, unknown>): Promise<Response> {
    const ttl = Math.ceil(positive(body, "ttl"));
    if (ttl > MAX_PILOT_TOKEN_S) {
      throw badRequest(
        "bad_request",
        `"ttl": at most ${MAX_PILOT_TOKEN_S} s for a pilot's agent token`,
      );
    }
    const agent = await this.#artefacts?.sha256(artefactName("agent"));
    const wrapper = await this.#artefacts?.sha256(artefactName("wrapper"));
    if (agent === undefined || wrapper === undefined) {
      throw new HttpError(
        409,
        "not_published",
        "no agent and wrapper artefacts are published on this broker (splitpilot site publish)",
      );
    }
    this.#onIssue();
    const token = await this.#issuer.issue({
      role: "JOB_AGENT",
      subject: site,
      ttlSeconds: ttl,
    });
    return json({
      site,
      token: {
        certPem: token.certPem,
        keyPem: token.keyPem,
        caPem: this.#issuer.caCertPem,
      },
      notAfter: new Date(Date.now() + ttl * 1000).toISOString(),
      artefacts: { agent, wrapper },
    });
  }

  /** `PUT /api/v1/factory/pilots`: a {@link FactoryReport}. */
  report(site: string, body: Record<string, unknown>): Response {
    const p = (body.pilots ?? {}) as Record<string, unknown>;
    if (typeof p !== "object" || p === null) {
      throw badRequest("bad_request", `"pilots": expected an object`);
    }
    const failures: PilotFailure[] = [];
    for (const f of Array.isArray(body.failures) ? body.failures : []) {
      const r = f as Record<string, unknown>;
      if (typeof r?.id === "string" && typeof r.reason === "string") {
        failures.push({
          id: r.id.slice(0, 64),
          reason: r.reason.slice(0, 300),
          at: typeof r.at === "number" ? r.at : Date.now(),
        });
      }
    }
    const report: FactoryReport = {
      batch: typeof body.batch === "string" ? body.batch.slice(0, 32) : "?",
      pilots: {
        queued: count(p, "queued"),
        running: count(p, "running"),
        finished: count(p, "finished"),
        failed: count(p, "failed"),
      },
      failures,
      backoffUntil: typeof body.backoffUntil === "number"
        ? body.backoffUntil
        : undefined,
    };
    this.registry.factoryReport(site, report);
    return json({ ok: true });
  }

  /** `GET /api/v1/sites`. */
  async sites(): Promise<Response> {
    const active = await this.#store.list({
      states: ["ASSIGNED", "STARTED", "RUNNING", "SAVING"],
      limit: 100_000,
    });
    const agents = active.flatMap((j) => j.agent ? [j.agent] : []);
    return json({ sites: this.registry.view(agents) });
  }
}
