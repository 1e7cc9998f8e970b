/**
 * Matching over mutual TLS with a deep queue, on the three ways to run the
 * broker: one broker on SQLite (the default), one broker on PostgreSQL,
 * and three broker replicas sharing that PostgreSQL. Same workload as
 * `bench/matching.ts` (100,000 waiting jobs from 50 users, thousands of
 * match classes; 10,000 with `--quick`), 8 pilots matching at once with
 * varied site maps, each match a real HTTPS request that claims a job and
 * issues a job token. The two PostgreSQL rows share one queue, filled
 * once: the 3-replica run starts a few hundred jobs shallower.
 *
 * Also measured: CPU seconds per 1,000 matches of each broker process and
 * of the PostgreSQL server (`/proc/PID/stat` through `cat`, since Deno
 * needs `--allow-all` to read procfs). On a 2-core machine three replicas
 * cannot add throughput: they and the database share the same two cores.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-run --allow-net=127.0.0.1 \
 *   --allow-env bench/replicas.ts [--quick] [--json]
 * ```
 *
 * @module
 */
import { parseFlags as parseArgs } from "../src/cli/cli_io.ts";
import { Random } from "../tests/_random.ts";
import type { BenchRow } from "./bench_row.ts";
import { formatTable } from "./format_table.ts";
import { siteMap, toNewJob, workload } from "./matching.ts";
import type { JobStore } from "../src/broker/store.ts";
import { SqliteJobStore } from "../src/broker/store_sqlite.ts";
import { PostgresJobStore } from "../src/broker/store_postgres.ts";
import { startBrokerProcess } from "../src/launch/role_process.ts";
import { startReplicaSet } from "../src/launch/replica_set.ts";
import { BrokerClient } from "../src/client/broker_client.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";
import { startPostgres } from "../scripts/postgres_cluster.ts";
import { descendants, processTable } from "./_procfs.ts";

/** Options of {@link benchReplicas}. */
export interface BenchReplicasOptions {
  /** Smaller numbers (10,000 jobs, 300 matches a row). @default false */
  quick?: boolean;
}

const PILOTS = 8;
const USERS = 50;

/** CPU seconds (user + system) of `pid`, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return 0;
  const text = new TextDecoder().decode(out.stdout);
  // Fields after the command name (which may hold spaces) in parentheses.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function cpuOfTree(pid: number): Promise<number> {
  const pids = [
    pid,
    ...descendants(await processTable(), pid).map((p) => p.pid),
  ];
  let sum = 0;
  for (const p of pids) sum += await cpuSeconds(p);
  return sum;
}

async function fill(store: JobStore, jobs: [string, string][]) {
  for (let i = 0; i < jobs.length; i += 1000) {
    await store.submitMany(
      jobs.slice(i, i + 1000).map((j) => toNewJob(...j)),
      "USER:bench",
    );
  }
}

interface Run {
  rate: number;
  p50: number;
  p99: number;
  n: number;
}

/**
 * `n` matches from {@link PILOTS} pilots, each with every URL (a match
 * carries a request key, so a dropped connection is retried safely).
 */
async function matchOver(
  urls: string[],
  ca: { certPem: string; keyPem: string },
  n: number,
  rng: Random,
): Promise<Run> {
  const issuer = await TokenIssuer.fromPem(ca);
  const pilots: BrokerClient[] = [];
  try {
    for (let i = 0; i < PILOTS; i++) {
      const t = await issuer.issue({
        role: "JOB_AGENT",
        subject: `pilot${i}`,
        ttlSeconds: 3600,
      });
      // Every replica, starting at a random one (as agents do).
      pilots.push(new BrokerClient(urls, { ...t, caPem: ca.certPem }));
    }
    const maps = Array.from({ length: 64 }, () => siteMap(rng));
    // Warm-up: connections, class index, statement caches.
    for (const p of pilots) await p.match(maps[0], crypto.randomUUID());
    const lat: number[] = [];
    let started = 0;
    const t0 = performance.now();
    await Promise.all(pilots.map(async (p, k) => {
      while (started < n) {
        started++;
        const s = performance.now();
        await p.match(maps[(started + k) % maps.length], crypto.randomUUID());
        lat.push(performance.now() - s);
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const pct = (q: number) =>
      lat[Math.min(lat.length - 1, Math.floor(lat.length * q))] ?? 0;
    return {
      rate: lat.length / seconds,
      p50: pct(0.5),
      p99: pct(0.99),
      n: lat.length,
    };
  } finally {
    for (const p of pilots) p.close();
  }
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function rows(
  label: string,
  run: Run,
  jobs: number,
  cpu: { name: string; seconds: number }[],
  baseline?: Run,
): BenchRow[] {
  const perK = (s: number) => r2(s / run.n * 1000);
  return [{
    measure: `matches/s over mTLS, ${label}, ${jobs} waiting`,
    ours: Math.round(run.rate),
    ...(baseline ? { baseline: Math.round(baseline.rate) } : {}),
    unit: "matches/s",
    ...(baseline ? { ratio: r2(run.rate / baseline.rate) } : {}),
    note: `${PILOTS} pilots, ${run.n} matches; p50 ${r2(run.p50)} ms, p99 ${
      r2(run.p99)
    } ms${
      baseline ? "; baseline: 1 broker on SQLite" : ""
    }; CPU s per 1000 matches: ${
      cpu.map((c) => `${c.name} ${perK(c.seconds)}`).join(", ")
    }`,
  }, {
    measure: `match p99 over mTLS, ${label}`,
    ours: r2(run.p99),
    ...(baseline ? { baseline: r2(baseline.p99) } : {}),
    unit: "ms",
    ...(baseline ? { ratio: r2(run.p99 / baseline.p99) } : {}),
  }];
}

/** Runs the three configurations; see the module doc. */
export async function benchReplicas(
  opts: BenchReplicasOptions = {},
): Promise<BenchRow[]> {
  const nJobs = opts.quick ? 10_000 : 100_000;
  const n = opts.quick ? 300 : 2000;
  const rng = new Random(11);
  const jobs = workload(rng, nJobs, USERS);
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-bench-replicas-" });
  const ca = await createCa();
  const out: BenchRow[] = [];
  try {
    // 1 broker on SQLite.
    const state = `${dir}/sqlite`;
    await Deno.mkdir(`${state}/ca`, { recursive: true });
    await Deno.writeTextFile(`${state}/ca/ca.pem`, ca.certPem);
    await Deno.writeTextFile(`${state}/ca/ca.key`, ca.keyPem, { mode: 0o600 });
    const lite = new SqliteJobStore(`${state}/jobs.db`);
    await fill(lite, jobs);
    await lite.close();
    const broker = await startBrokerProcess({ stateDir: state });
    let sqlite: Run;
    try {
      const c0 = await cpuSeconds(broker.child.pid);
      sqlite = await matchOver([broker.url], ca, n, new Random(12));
      const cpu = await cpuSeconds(broker.child.pid) - c0;
      out.push(
        ...rows("1 broker on SQLite", sqlite, nJobs, [{
          name: "broker",
          seconds: cpu,
        }]),
      );
    } finally {
      await broker.stop();
    }
    // PostgreSQL: one queue, 1 replica, then 3.
    const pg = await startPostgres();
    try {
      const db = await pg.createDatabase();
      const store = await PostgresJobStore.open(db);
      await fill(store, jobs);
      await store.close();
      const postmaster = Number(
        (await Deno.readTextFile(`${pg.dataDir}/postmaster.pid`)).split(
          "\n",
        )[0],
      );
      for (const replicas of [1, 3]) {
        const set = await startReplicaSet({
          dir: `${dir}/pg${replicas}`,
          db,
          ca,
          replicas,
        });
        try {
          const pids = set.urls.map((_, i) => set.process(i)!.child.pid);
          const before = await Promise.all(pids.map(cpuSeconds));
          const pgBefore = await cpuOfTree(postmaster);
          const run = await matchOver(set.urls, ca, n, new Random(12));
          const after = await Promise.all(pids.map(cpuSeconds));
          const pgCpu = await cpuOfTree(postmaster) - pgBefore;
          out.push(...rows(
            replicas === 1
              ? "1 broker on PostgreSQL"
              : `${replicas} replicas on PostgreSQL`,
            run,
            nJobs,
            [
              ...pids.map((_, i) => ({
                name: `r${i + 1}`,
                seconds: after[i] - before[i],
              })),
              { name: "postgres", seconds: pgCpu },
            ],
            sqlite,
          ));
        } finally {
          await set.stop();
        }
      }
    } finally {
      await pg.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return out;
}

if (import.meta.main) {
  const flags = parseArgs(Deno.args, { boolean: ["quick", "json"] });
  const result = await benchReplicas({ quick: flags.quick });
  console.log(
    flags.json ? JSON.stringify(result, null, 2) : formatTable(result),
  );
}
