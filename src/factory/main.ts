/**
 * The factory's command line (`scripts/factory.ts`, started with the
 * table's factory permissions by `splitpilot factory`).
 *
 * @module
 */
import {
  parseFlags as parseArgs,
  UsageError as ArgsError,
} from "../flags/parse_flags.ts";
import { BrokerClient, readTokenDir } from "../client/broker_client.ts";
import { parseDuration } from "../token/mod.ts";
import type { BatchSystem } from "./batch_system.ts";
import { factoryBrokerApi } from "./broker_api.ts";
import { Factory } from "./factory.ts";
import { HtcondorBatch } from "./htcondor.ts";
import { PbsBatch } from "./pbs.ts";
import { SlurmBatch } from "./slurm.ts";

/** Usage text. */
export const FACTORY_USAGE =
  `usage: splitpilot factory --site NAME (--slurm | --htcondor | --pbs)
  --broker https://HOST:PORT --token DIR --work DIR
  [--partition P] [--max-queued N] [--max-running M] [--cores C] [--ttl T]
  [--token-ttl T] [--ce CE] [--interval S] [--young S] [--max-backoff S]
  [--agent-arg ARG]... [--batch-bin DIR] [--once] [--print-command]
Keeps the site's batch system supplied with pilots: each cycle it asks the
broker how many WAITING jobs the site's slots fit, submits that many startup
scripts (each with a fresh agent token) within its limits, cancels queued
pilots nothing waits for, backs off when pilots die young, and reports its
pilot counts (see: splitpilot site status).
--token DIR: a HOST token whose subject is the site
  (splitpilot token issue --role HOST --subject NAME …)
--batch-bin DIR: where sbatch/squeue/scancel (condor_*, qsub/qstat/qdel) are
  (default: found on PATH when the command line is built)
--work DIR: pilot scripts (0700, removed when the pilot ended) and batch logs
T: seconds or a duration such as 90m, 12h, 2d (--ttl default 24h)
examples:
  splitpilot factory --site CERN --slurm --partition grid --cores 8 --ttl 24h \\
    --max-queued 20 --broker https://broker.example.org:8443 \\
    --token ~/.splitpilot/factory --work /var/lib/splitpilot-factory
  splitpilot factory --site CERN --slurm … --agent-arg=--containers --agent-arg=bwrap --once`;

/** Flags of the factory command (also used to build its permissions). */
export interface FactoryFlags {
  /** Site. */
  site: string;
  /** Batch system. */
  batch: "slurm" | "htcondor" | "pbs";
  /** Broker URL. */
  broker: string;
  /** HOST token dir. */
  token: string;
  /** Work dir. */
  work: string;
  /** The rest, as given. */
  raw: Record<string, unknown>;
}

/** Parses the flags; throws {@link ArgsError}/TypeError on bad usage. */
export function parseFactoryFlags(args: string[]): FactoryFlags | "help" {
  const f = parseArgs(args, {
    string: [
      "site",
      "broker",
      "token",
      "work",
      "partition",
      "max-queued",
      "max-running",
      "cores",
      "ttl",
      "token-ttl",
      "ce",
      "interval",
      "young",
      "max-backoff",
      "agent-arg",
      "batch-bin",
    ],
    boolean: ["slurm", "htcondor", "pbs", "once", "help", "print-command"],
    collect: ["agent-arg"],
  });
  if (f.help) return "help";
  if (f._.length) throw new TypeError(`unexpected argument "${f._[0]}"`);
  const kinds = (["slurm", "htcondor", "pbs"] as const).filter((k) => f[k]);
  if (kinds.length !== 1) {
    throw new TypeError(
      "name exactly one batch system: --slurm, --htcondor or --pbs",
    );
  }
  const env = (n: string) => {
    try {
      return Deno.env.get(n) || undefined;
    } catch {
      return undefined;
    }
  };
  const need = (name: string, v: string | undefined) => {
    if (!v) throw new TypeError(`--${name} is required (see --help)`);
    return v;
  };
  return {
    site: need("site", f.site),
    batch: kinds[0],
    broker: need("broker", f.broker ?? env("SPLITPILOT_BROKER")),
    token: need("token", f.token ?? env("SPLITPILOT_TOKEN")),
    work: need("work", f.work),
    raw: f,
  };
}

function int(
  raw: Record<string, unknown>,
  name: string,
  min: number,
): number | undefined {
  const v = raw[name] as string | undefined;
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new TypeError(`--${name} ${v}: expected an integer >= ${min}`);
  }
  return n;
}

function batchOf(flags: FactoryFlags): BatchSystem {
  const queue = flags.raw.partition as string | undefined;
  switch (flags.batch) {
    case "slurm":
      return new SlurmBatch({
        partition: queue,
        binDir: flags.raw["batch-bin"] as string | undefined,
      });
    case "htcondor":
      return new HtcondorBatch();
    case "pbs":
      return new PbsBatch(queue);
  }
}

/** Runs the factory; returns the exit code. */
export async function factoryMain(args: string[]): Promise<number> {
  let factory: Factory;
  let once = false;
  let client: BrokerClient;
  try {
    const flags = parseFactoryFlags(args);
    if (flags === "help") {
      console.log(FACTORY_USAGE);
      return 0;
    }
    const r = flags.raw;
    const url = new URL(flags.broker);
    if (url.protocol !== "https:") {
      throw new TypeError(
        `--broker ${flags.broker}: expected https://HOST:PORT`,
      );
    }
    const ttl = r.ttl ? parseDuration(r.ttl as string) : 86400;
    client = new BrokerClient(flags.broker, await readTokenDir(flags.token));
    factory = new Factory(
      {
        site: flags.site,
        ce: r.ce as string | undefined,
        broker: url.host.includes(":") ? url.host : `${url.host}:443`,
        cores: int(r, "cores", 1),
        ttlSeconds: ttl,
        queue: r.partition as string | undefined,
        maxQueued: int(r, "max-queued", 0),
        maxRunning: int(r, "max-running", 0),
        tokenTtlSeconds: r["token-ttl"]
          ? parseDuration(r["token-ttl"] as string)
          : undefined,
        workDir: flags.work,
        agentArgs: r["agent-arg"] as string[],
        intervalSeconds: int(r, "interval", 1),
        youngSeconds: int(r, "young", 0),
        maxBackoffSeconds: int(r, "max-backoff", 1),
      },
      batchOf(flags),
      factoryBrokerApi(client, flags.site),
    );
    once = r.once === true;
  } catch (e) {
    const usage = e instanceof TypeError || e instanceof ArgsError;
    console.error(`error: ${(e as Error).message}`);
    return usage ? 2 : 1;
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  try {
    if (once) {
      const r = await factory.cycle();
      console.log(JSON.stringify({
        waiting: r.waiting,
        submitted: r.submitted,
        cancelled: r.cancelled,
        pilots: r.status.pilots,
      }));
    } else {
      console.error(`[factory] running for site ${factory.pilotName}`);
      await factory.run(abort.signal);
    }
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    client.close();
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
  }
}
