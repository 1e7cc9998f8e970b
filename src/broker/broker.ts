/**
 * Wires a broker together: CA from the state dir, SQLite queue, blob store,
 * the handler and the mutual-TLS server.
 *
 * State dir layout: `ca/ca.pem`, `ca/ca.key` (from `splitpilot ca init`),
 * `jobs.db` (+ WAL), `files/` (blobs). A {@link Sweeper} marks silent jobs
 * ZOMBIE and overdue ones EXPIRED.
 *
 * @module
 */
import { TokenIssuer, TokenVerifier } from "../token/mod.ts";
import { BlobStore } from "./blob_store.ts";
import {
  type BrokerOptions,
  createBrokerHandler,
  type Handler,
} from "./handler.ts";
import { type HttpsServer, serveHttps } from "./https_server.ts";
import {
  checkFdBudget,
  type ConnectionLimits,
  DEFAULT_MAX_CONNECTIONS,
} from "./connection_guard.ts";
import type { JobStore } from "./store.ts";
import { openStore } from "./open_store.ts";
import { Sweeper } from "./sweeper.ts";
import { BrokerMetrics } from "./broker_metrics.ts";

/** Options of {@link startBroker}. */
export interface StartBrokerOptions extends BrokerOptions, ConnectionLimits {
  /** State directory (must hold `ca/ca.pem` and `ca/ca.key`). */
  stateDir: string;
  /** Listen address. @default "127.0.0.1" */
  hostname?: string;
  /** Listen port; 0 picks one. @default 0 */
  port?: number;
  /** Extra names for the server certificate. @default [] */
  hosts?: string[];
  /** Running-job quotas of single users, beside `userQuota`. @default {} */
  userQuotas?: Record<string, number>;
  /**
   * The task queue: a `postgres://` URL (shared by broker replicas) or an
   * SQLite file. @default `STATE/jobs.db`
   */
  db?: string;
  /**
   * The file store's directory; replicas share one (README "Scaling
   * out"). @default `STATE/files`
   */
  filesDir?: string;
}

/** A running broker. */
export interface RunningBroker {
  /** Base URL. */
  url: string;
  /** Bound port. */
  port: number;
  /** The queue (for tests and the sweeper). */
  store: JobStore;
  /** The handler (for in-process tests). */
  handler: Handler;
  /** CA certificate PEM. */
  caPem: string;
  /** Stops the server and closes the database. */
  close(): Promise<void>;
}

/** Reads the CA written by `ca init`. */
export async function readCa(
  stateDir: string,
): Promise<{ certPem: string; keyPem: string }> {
  try {
    return {
      certPem: await Deno.readTextFile(`${stateDir}/ca/ca.pem`),
      keyPem: await Deno.readTextFile(`${stateDir}/ca/ca.key`),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `no CA in ${stateDir}/ca (expected ca.pem and ca.key; run: splitpilot ca init --state ${stateDir})`,
      );
    }
    throw e;
  }
}

/** Starts a broker on `opts.stateDir`. */
export async function startBroker(
  opts: StartBrokerOptions,
): Promise<RunningBroker> {
  const ca = await readCa(opts.stateDir);
  const issuer = await TokenIssuer.fromPem(ca);
  const verifier = new TokenVerifier(ca.certPem);
  const hostname = opts.hostname ?? "127.0.0.1";
  // A wildcard listen address is no name anyone connects by: the
  // certificate then names only the given hosts.
  const wildcard = hostname === "0.0.0.0" || hostname === "::";
  const names = [
    ...new Set([...(wildcard ? [] : [hostname]), ...(opts.hosts ?? [])]),
  ];
  const host = await issuer.issue({
    role: "HOST",
    subject: names.find((n) => /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(n)) ??
      "localhost",
    hosts: names.length ? names : ["localhost"],
    ttlSeconds: 30 * 24 * 3600,
  });
  const store = await openStore(opts.stateDir, opts.db);
  for (const [user, quota] of Object.entries(opts.userQuotas ?? {})) {
    await store.setUserQuota(user, quota);
  }
  const blobs = new BlobStore(opts.filesDir ?? `${opts.stateDir}/files`);
  // Uploads cut off by a crash or a kill left their temp files behind. In
  // a directory shared with other replicas they may be theirs, in flight.
  if (opts.filesDir === undefined) await blobs.removeTemp();
  const metrics = opts.metrics ?? new BrokerMetrics();
  const handler = createBrokerHandler(
    { store, blobs, issuer, verifier },
    { artefactsDir: `${opts.stateDir}/artefacts`, ...opts, metrics },
  );
  let server: HttpsServer;
  try {
    server = await serveHttps(handler, {
      hostname,
      port: opts.port ?? 0,
      certPem: host.certPem,
      keyPem: host.keyPem,
      caPem: ca.certPem,
      limits: opts,
    });
    checkFdBudget(opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  } catch (e) {
    await store.close();
    throw e;
  }
  const interval = opts.sweepIntervalSeconds ?? 30;
  const sweeper = interval > 0
    ? new Sweeper(store, {
      intervalSeconds: interval,
      zombieAfterSeconds: opts.zombieAfterSeconds,
      maxResubmissions: opts.maxResubmissions,
      onSweep: (r) => metrics.sweep(r),
    })
    : undefined;
  sweeper?.start();
  return {
    url: server.url,
    port: server.port,
    store,
    handler,
    caPem: ca.certPem,
    close: async () => {
      await sweeper?.stop();
      await server.close();
      await store.close();
    },
  };
}
