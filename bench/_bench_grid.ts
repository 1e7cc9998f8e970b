/**
 * A grid for the benchmarks: temp CA, a real mutual-TLS broker served from
 * this process with every request counted by endpoint and caller, token
 * dirs for a user and an agent, and clients for both.
 *
 * It is wired from the same parts as `startBroker` (handler, SQLite queue,
 * blob store, HTTPS adapter); the only addition is the counter around the
 * handler, which is how the throughput entry counts broker round trips of
 * processes it cannot instrument (the agent and its wrappers).
 *
 * @module
 */
import { BlobStore } from "../src/broker/blob_store.ts";
import { findRoute } from "../src/broker/authz.ts";
import { RELAYED_JOB_HEADER } from "../src/broker/relayed_job.ts";
import { createBrokerHandler, type Handler } from "../src/broker/handler.ts";
import { type HttpsServer, serveHttps } from "../src/broker/https_server.ts";
import { SqliteJobStore } from "../src/broker/store_sqlite.ts";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { createCa, TokenIssuer, TokenVerifier } from "../src/token/mod.ts";
import { pemToDer } from "../src/token/mod.ts";

/** Who sent a counted request. */
export type Caller = "user" | "agent" | "job";

/** A benchmark grid; always `await grid.close()`. */
export interface BenchGrid {
  /** Temp root (removed by `close`). */
  dir: string;
  /** Broker base URL. */
  url: string;
  /** Broker `host:port`. */
  hostPort: string;
  /** JOB_AGENT token dir. */
  agentTokenDir: string;
  /** Client with the user token. */
  user: BrokerClient;
  /** Client with the agent token. */
  agent: BrokerClient;
  /**
   * Requests so far, keyed `caller endpoint` (e.g. `job status`); a call
   * an agent relays for its wrapper counts as the job's.
   */
  counts: Map<string, number>;
  /** TLS connections (handshakes) so far, by the certificate's caller. */
  handshakes: Map<Caller, number>;
  /** Submits `jdl` `n` times as the user; returns the job IDs. */
  submit(jdl: string, n?: number): Promise<string[]>;
  /** Stops the broker and removes the temp dir. */
  close(): Promise<void>;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Starts a counting broker on a fresh temp state dir. */
export async function startBenchGrid(): Promise<BenchGrid> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-bench-" });
  const ca = await createCa();
  const issuer = await TokenIssuer.fromPem(ca);
  const host = await issuer.issue({
    role: "HOST",
    subject: "127.0.0.1",
    hosts: ["127.0.0.1"],
    ttlSeconds: 86400,
  });
  const userTok = await issuer.issue({
    role: "USER",
    subject: "jdoe",
    ttlSeconds: 86400,
  });
  const agentTok = await issuer.issue({
    role: "JOB_AGENT",
    subject: "bench-site",
    ttlSeconds: 86400,
  });
  const userTokenDir = `${dir}/tokens/user`;
  const agentTokenDir = `${dir}/tokens/agent`;
  await writeTokenDir(userTokenDir, userTok, ca.certPem);
  await writeTokenDir(agentTokenDir, agentTok, ca.certPem);
  const userDer = pemToDer(userTok.certPem);
  const agentDer = pemToDer(agentTok.certPem);

  await Deno.mkdir(`${dir}/state`, { recursive: true, mode: 0o700 });
  const store = new SqliteJobStore(`${dir}/state/jobs.db`);
  const blobs = new BlobStore(`${dir}/state/files`);
  const core = createBrokerHandler({
    store,
    blobs,
    issuer,
    verifier: new TokenVerifier(ca.certPem),
  });
  const counts = new Map<string, number>();
  const handshakes = new Map<Caller, number>();
  const seen = new WeakSet<object>();
  const counted: Handler = (req, peer) => {
    const byCert: Caller = sameBytes(peer.certDer, agentDer)
      ? "agent"
      : sameBytes(peer.certDer, userDer)
      ? "user"
      : "job";
    if (peer.connection && !seen.has(peer.connection)) {
      seen.add(peer.connection);
      handshakes.set(byCert, (handshakes.get(byCert) ?? 0) + 1);
    }
    const caller: Caller = req.headers.has(RELAYED_JOB_HEADER) ? "job" : byCert;
    const route = findRoute(req.method, new URL(req.url).pathname);
    const key = `${caller} ${
      typeof route === "object" ? route.route.name : "unknown"
    }`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return core(req, peer);
  };
  let server: HttpsServer;
  try {
    server = await serveHttps(counted, {
      hostname: "127.0.0.1",
      port: 0,
      certPem: host.certPem,
      keyPem: host.keyPem,
      caPem: ca.certPem,
    });
  } catch (e) {
    store.close();
    throw e;
  }
  const user = new BrokerClient(server.url, await readTokenDir(userTokenDir));
  const agent = new BrokerClient(
    server.url,
    await readTokenDir(agentTokenDir),
  );
  return {
    dir,
    url: server.url,
    hostPort: `127.0.0.1:${server.port}`,
    agentTokenDir,
    user,
    agent,
    counts,
    handshakes,
    submit: async (jdl, n = 1) => {
      const ids: string[] = [];
      // A few submissions in flight: the queue fills fast, order is kept.
      for (let i = 0; i < n; i += 8) {
        const batch = Array.from(
          { length: Math.min(8, n - i) },
          () =>
            user.request("POST", "/api/v1/jobs", { body: jdl }).then(
              async (r) => (await r.json()).jobId as string,
            ),
        );
        ids.push(...await Promise.all(batch));
      }
      return ids;
    },
    close: async () => {
      user.close();
      agent.close();
      await server.close();
      store.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
