/**
 * N broker replicas on one machine: processes sharing one PostgreSQL task
 * queue, one CA (the same key file copied into each replica's state dir)
 * and one file store directory. Used by `demo --scale`, the replica
 * benchmark and the replica tests; a site runs the same `broker serve`
 * command on N machines (README "Scaling out").
 *
 * @module
 */
import {
  type BrokerProcess,
  freePort,
  startBrokerProcess,
} from "./role_process.ts";

/** Options of {@link startReplicaSet}. */
export interface ReplicaSetOptions {
  /** Root dir: `r1/`, `r2/`, … state dirs and `files/` go below it. */
  dir: string;
  /** The shared task queue (`postgres://…`). */
  db: string;
  /** The CA every replica signs with. */
  ca: { certPem: string; keyPem: string };
  /** How many replicas. @default 3 */
  replicas?: number;
  /** More `broker serve` flags for each. @default [] */
  extraArgs?: string[];
}

/** A running replica set. */
export interface ReplicaSet {
  /** Replica URLs, in order (a restarted replica keeps its URL). */
  urls: string[];
  /** The shared file store. */
  filesDir: string;
  /** Replica `i` (0-based) as running now; undefined while it is down. */
  process(i: number): BrokerProcess | undefined;
  /** SIGKILLs replica `i` (no goodbye: connections and locks just drop). */
  kill(i: number): Promise<void>;
  /** Stops replica `i` cleanly (SIGTERM) and starts it again on its port. */
  restart(i: number): Promise<void>;
  /** Starts replica `i` again after a kill, on its port. */
  start(i: number): Promise<void>;
  /** Stops every replica still running. */
  stop(): Promise<void>;
}

/**
 * Starts the replicas (in parallel), each on a free loopback port.
 *
 * @example
 * ```ts ignore
 * const set = await startReplicaSet({ dir, db: "postgres://u@127.0.0.1:5432/q", ca });
 * const client = new BrokerClient(set.urls, token); // fails over between them
 * await set.stop();
 * ```
 */
export async function startReplicaSet(
  opts: ReplicaSetOptions,
): Promise<ReplicaSet> {
  const n = opts.replicas ?? 3;
  const filesDir = `${opts.dir}/files`;
  await Deno.mkdir(filesDir, { recursive: true });
  const ports: number[] = [];
  const stateDirs: string[] = [];
  for (let i = 0; i < n; i++) {
    const state = `${opts.dir}/r${i + 1}`;
    await Deno.mkdir(`${state}/ca`, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${state}/ca/ca.pem`, opts.ca.certPem);
    await Deno.writeTextFile(`${state}/ca/ca.key`, opts.ca.keyPem, {
      mode: 0o600,
    });
    stateDirs.push(state);
    ports.push(freePort());
  }
  const procs: (BrokerProcess | undefined)[] = new Array(n);
  const start = async (i: number) => {
    procs[i] = await startBrokerProcess({
      stateDir: stateDirs[i],
      port: ports[i],
      db: opts.db,
      filesDir,
      extraArgs: opts.extraArgs,
    });
  };
  try {
    // One after another: the first applies the migrations.
    for (let i = 0; i < n; i++) await start(i);
  } catch (e) {
    for (const p of procs) await p?.stop();
    throw e;
  }
  return {
    urls: ports.map((p) => `https://127.0.0.1:${p}`),
    filesDir,
    process: (i) => procs[i],
    kill: async (i) => {
      const p = procs[i];
      procs[i] = undefined;
      if (!p) return;
      try {
        p.child.kill("SIGKILL");
      } catch { /* gone */ }
      await p.child.status;
    },
    restart: async (i) => {
      await procs[i]?.stop();
      procs[i] = undefined;
      await start(i);
    },
    start: (i) => start(i),
    stop: async () => {
      for (let i = 0; i < n; i++) {
        await procs[i]?.stop();
        procs[i] = undefined;
      }
    },
  };
}
