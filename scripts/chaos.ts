/**
 * `deno task chaos`: a real broker and agents under bwrap run N jobs while
 * K SIGKILLs hit agents, wrappers, payloads and the broker (restarted on
 * the same state dir and port); then every count of
 * `scripts/_chaos_counts.ts` is printed, and the exit code is 1 unless
 * all are 0.
 *
 * ```sh
 * deno task chaos [--jobs N] [--kills K] [--seed S] [--agents A]
 *                 [--containers bwrap|none] [--keep]
 * ```
 *
 * Each job's payload writes `id.txt` = `<job ID> <attempt>` (its own
 * identity, from `ALIEN_PROC_ID` and `JALIEN_RESUBMISSION`) and sleeps a
 * little, so kills land mid-run. Kills are spread over the run by
 * progress: kill i waits until i/(K+1) of the jobs are final.
 *
 * @module
 */
import { parseFlags as parseArgs } from "../src/cli/cli_io.ts";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import {
  agentCommand,
  type BrokerProcess,
  freePort,
  startBrokerProcess,
} from "../src/launch/role_process.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";
import { killOne, orphanCount } from "./_chaos_targets.ts";
import {
  type ChaosCounts,
  chaosCounts,
  type ChaosJob,
  type ChaosKill,
  formatCounts,
} from "./_chaos_counts.ts";

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** Jobs. @default 200 */
  jobs?: number;
  /** SIGKILLs. @default 40 */
  kills?: number;
  /** Seed of every random choice. @default 1 */
  seed?: number;
  /** Agents. @default 2 */
  agents?: number;
  /** Container runtime of the agents. @default "bwrap" */
  containers?: "bwrap" | "none";
  /** Keep the temp dir. @default false */
  keep?: boolean;
  /** Progress lines. @default console.error */
  log?: (line: string) => void;
  /** Give up waiting for the jobs after this long without progress, s. @default 300 */
  stallSeconds?: number;
  /** Stops the run early (the verdict is still computed, then cleanup). */
  signal?: AbortSignal;
}

/** The outcome of a run. */
export interface ChaosResult {
  /** Every count; all 0 on success. */
  counts: ChaosCounts;
  /** Kills made, by target. */
  kills: Record<ChaosKill["target"], number>;
  /** Jobs by final state. */
  states: Record<string, number>;
  /** Wall time, s. */
  seconds: number;
  /** Temp dir (removed unless `keep`). */
  dir: string;
}

/** mulberry32: a small seeded PRNG, so a seed replays the same choices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINAL = /^(DONE|DONE_WARN|ERROR_.*|KILLED|EXPIRED|ZOMBIE)$/;

interface Agent {
  name: string;
  tokenDir: string;
  workRoot: string;
  child?: Deno.ChildProcess;
  logFile: Deno.FsFile;
}

/** Runs one chaos experiment. */
export async function runChaos(opts: ChaosOptions = {}): Promise<ChaosResult> {
  const n = opts.jobs ?? 200;
  const k = opts.kills ?? 40;
  const seed = opts.seed ?? 1;
  const rnd = prng(seed);
  const log = opts.log ?? ((l: string) => console.error(`[chaos] ${l}`));
  const containers = opts.containers ?? "bwrap";
  const t0 = Date.now();
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-chaos-" });
  const mark = `chaos${seed}x${Math.floor(Math.random() * 1e9)}`;
  const stateDir = `${dir}/state`;
  await Deno.mkdir(`${stateDir}/ca`, { recursive: true, mode: 0o700 });
  const ca = await createCa();
  await Deno.writeTextFile(`${stateDir}/ca/ca.pem`, ca.certPem);
  await Deno.writeTextFile(`${stateDir}/ca/ca.key`, ca.keyPem, { mode: 0o600 });
  const issuer = await TokenIssuer.fromPem(ca);
  await writeTokenDir(
    `${dir}/user-token`,
    await issuer.issue({ role: "USER", subject: "jdoe", ttlSeconds: 86400 }),
    ca.certPem,
  );
  const agents: Agent[] = [];
  for (let i = 0; i < (opts.agents ?? 2); i++) {
    const name = `chaos-site-${i}`;
    const tokenDir = `${dir}/agent-token-${i}`;
    await writeTokenDir(
      tokenDir,
      await issuer.issue({
        role: "JOB_AGENT",
        subject: name,
        ttlSeconds: 86400,
      }),
      ca.certPem,
    );
    agents.push({
      name,
      tokenDir,
      workRoot: `${dir}/work-${i}`,
      logFile: await Deno.open(`${dir}/agent-${i}.log`, {
        write: true,
        create: true,
        append: true,
      }),
    });
  }
  const port = freePort();
  const brokerArgs = [
    // Short enough that jobs of a killed agent come back within the run.
    "--zombie-after",
    "30",
    "--sweep-interval",
    "2",
    "--max-resubmissions",
    "1000",
  ];
  const startBroker = async (): Promise<BrokerProcess> => {
    for (let i = 0;; i++) {
      try {
        return await startBrokerProcess({
          stateDir,
          port,
          extraArgs: brokerArgs,
        });
      } catch (e) {
        if (i >= 20) throw e;
        await sleep(250);
      }
    }
  };
  let broker = await startBroker();
  const user = new BrokerClient(
    broker.url,
    await readTokenDir(`${dir}/user-token`),
    { retries: 10, retryDelayMs: 250 },
  );
  const kills: ChaosKill[] = [];
  const ids: string[] = [];
  const startAgent = (a: Agent) => {
    const { cmd, args } = agentCommand({
      broker: broker.url,
      tokenDir: a.tokenDir,
      workRoot: a.workRoot,
      containers,
      extraArgs: ["--wait", "--heartbeat", "3", "--kill-grace", "2"],
    });
    a.child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const child = a.child;
    (async () => {
      for await (const chunk of child.stderr) await a.logFile.write(chunk);
    })().catch(() => {});
  };
  try {
    for (let i = 0; i < n; i++) {
      const nap = (0.2 + rnd() * 2).toFixed(1);
      const jdl = `Executable = "/bin/sh";
Arguments = "-c 'echo $ALIEN_PROC_ID $JALIEN_RESUBMISSION > id.txt; sleep ${nap}' ${mark}";
OutputFile = {"id.txt"};
TTL = 600;
`;
      const r = await user.request("POST", "/api/v1/jobs", { body: jdl });
      ids.push((await r.json()).jobId);
    }
    log(
      `submitted ${n} jobs; ${agents.length} agents (${containers}), ${k} kills, seed ${seed}`,
    );
    for (const a of agents) startAgent(a);

    const finalCount = async () => {
      const r = await user.json<{ jobs: { state: string }[] }>(
        "GET",
        `/api/v1/jobs?limit=10000`,
      ).catch(() => undefined);
      return r?.jobs.filter((j) => FINAL.test(j.state)).length;
    };
    let done = 0;
    let lastProgress = Date.now();
    const stallMs = (opts.stallSeconds ?? 300) * 1000;
    let killed = 0;
    let lastKill = 0;
    while (done < n && !opts.signal?.aborted) {
      await sleep(500);
      const f = await finalCount();
      if (f !== undefined && f !== done) {
        done = f;
        lastProgress = Date.now();
      }
      if (Date.now() - lastProgress > stallMs) {
        log(
          `no progress for ${
            stallMs / 1000
          } s; stopping with ${done}/${n} final`,
        );
        break;
      }
      if (
        killed < k && done >= ((killed + 1) * n) / (k + 1) &&
        Date.now() - lastKill > 1000
      ) {
        const what = await killOne(rnd, agents, broker, mark, log);
        if (what) {
          const kill: ChaosKill = { target: what, at: Date.now() };
          kills.push(kill);
          killed++;
          lastKill = Date.now();
          if (what === "broker") {
            await sleep(500 + rnd() * 1500);
            broker = await startBroker();
            kill.until = Date.now();
          } else if (what === "agent") {
            await sleep(300);
            for (const a of agents) {
              if (a.child && await exited(a.child)) startAgent(a);
            }
          }
        }
      }
      if (
        Math.floor(Date.now() / 10000) !==
          Math.floor((Date.now() - 500) / 10000)
      ) {
        log(`${done}/${n} final, ${killed}/${k} kills`);
      }
    }
    log(
      `${done}/${n} final after ${
        ((Date.now() - t0) / 1000).toFixed(0)
      } s; stopping agents`,
    );
    // Preemption (SIGTERM) ends idle agents at once.
    for (const a of agents) {
      try {
        a.child?.kill("SIGTERM");
      } catch { /* gone */ }
    }
    await Promise.all(agents.map((a) => a.child?.status));

    // The verdict, from the broker's view.
    const jobs: ChaosJob[] = [];
    const states: Record<string, number> = {};
    for (const id of ids) {
      const view = await user.json<{ state: string; resubmissions: number }>(
        "GET",
        `/api/v1/jobs/${id}`,
      ).catch(() => undefined);
      if (!view) {
        jobs.push({ id, trace: [] });
        continue;
      }
      states[view.state] = (states[view.state] ?? 0) + 1;
      const tr = await user.json<
        { trace: { state: string; at: string; reason: string }[] }
      >("GET", `/api/v1/jobs/${id}/trace`);
      let output: string | undefined;
      if (view.state === "DONE") {
        output = await user.request(
          "GET",
          // What `splitpilot get` serves: the final attempt's copy.
          `/api/v1/files/jdoe/jobs/${id}/.attempt/${view.resubmissions}/id.txt`,
        ).then((r) => r.text(), () => undefined);
      }
      jobs.push({
        id,
        state: view.state,
        attempt: view.resubmissions,
        trace: tr!.trace,
        output,
      });
    }
    user.close();
    await broker.stop();
    const orphans = await orphanCount(dir, mark);
    let sandboxes = 0;
    for (const a of agents) {
      try {
        for await (const e of Deno.readDir(a.workRoot)) {
          if (e.name.startsWith("job-")) sandboxes++;
        }
      } catch { /* never made */ }
    }
    const counts = chaosCounts(jobs, kills, { orphans, sandboxes });
    const byTarget = { agent: 0, wrapper: 0, payload: 0, broker: 0 };
    for (const x of kills) byTarget[x.target]++;
    return {
      counts,
      kills: byTarget,
      states,
      seconds: (Date.now() - t0) / 1000,
      dir,
    };
  } finally {
    for (const a of agents) {
      try {
        a.child?.kill("SIGKILL");
      } catch { /* gone */ }
      await a.child?.status;
      try {
        a.logFile.close();
      } catch { /* closed */ }
    }
    try {
      broker.child.kill("SIGKILL");
    } catch { /* gone */ }
    await broker.child.status;
    if (!opts.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function exited(c: Deno.ChildProcess): Promise<boolean> {
  return await Promise.race([
    c.status.then(() => true),
    sleep(10).then(() => false),
  ]);
}

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) {
    throw new TypeError(`--${name} ${v}: expected an integer >= 0`);
  }
  return x;
}

/** CLI entry; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let o: ChaosOptions;
  try {
    const f = parseArgs(args, {
      string: ["jobs", "kills", "seed", "agents", "containers"],
      boolean: ["keep", "help"],
    });
    if (f.help) {
      console.log(
        "usage: deno task chaos [--jobs N] [--kills K] [--seed S] [--agents A] [--containers bwrap|none] [--keep]",
      );
      return 0;
    }
    const c = f.containers ?? "bwrap";
    if (c !== "bwrap" && c !== "none") {
      throw new TypeError(`--containers ${c}: expected bwrap or none`);
    }
    o = {
      jobs: int(f.jobs, "jobs", 200),
      kills: int(f.kills, "kills", 40),
      seed: int(f.seed, "seed", 1),
      agents: Math.max(1, int(f.agents, "agents", 2)),
      containers: c,
      keep: f.keep,
    };
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  // Ctrl-C: stop the kills, stop the agents and the broker, print what
  // there is (instead of leaving them behind).
  const stop = new AbortController();
  const onInt = () => stop.abort();
  Deno.addSignalListener("SIGINT", onInt);
  const r = await runChaos({ ...o, signal: stop.signal }).finally(() =>
    Deno.removeSignalListener("SIGINT", onInt)
  );
  console.log(
    `chaos: ${o.jobs} jobs, ${o.agents} agents (${o.containers}), seed ${o.seed}, ${
      r.seconds.toFixed(0)
    } s`,
  );
  console.log(
    `kills: ${Object.entries(r.kills).map(([t, c]) => `${t} ${c}`).join(", ")}`,
  );
  console.log(
    `final states: ${
      Object.entries(r.states).map(([s, c]) => `${s} ${c}`).join(", ")
    }`,
  );
  console.log(formatCounts(r.counts));
  if (o.keep) console.log(`kept ${r.dir}`);
  return Object.values(r.counts).every((v) => v === 0) ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
