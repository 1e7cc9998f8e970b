/**
 * The agent's command line: flags → {@link AgentOptions}, signals →
 * preemption, exit codes.
 *
 * @module
 */
import { parseArgs } from "../std/cli.ts";
import type { RuntimeName } from "../container/driver.ts";
import { parseRuntimeName } from "../container/select.ts";
import { runAgent } from "./agent.ts";

/** Usage text. */
export const AGENT_USAGE =
  `usage: agent.ts --broker https://HOST:PORT --token DIR --work DIR
  [--cores N] [--ttl SECONDS] [--site S] [--ce CE] [--package P]...
  [--memory BYTES] [--disk BYTES] [--heartbeat SECONDS] [--max-empty N] [--wait]
  [--containers auto|none|bwrap|podman|apptainer|singularity|docker] [--runtime-binary PATH]
environment: USE_CONTAINERS (same as --containers)`;

function int(
  name: string,
  v: string | undefined,
  min: number,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new TypeError(`--${name} ${v}: expected an integer >= ${min}`);
  }
  return n;
}

/** Runs the agent CLI; returns the exit code. */
export async function agentMain(args: string[]): Promise<number> {
  let opts;
  try {
    const f = parseArgs(args, {
      string: [
        "broker",
        "token",
        "work",
        "cores",
        "ttl",
        "site",
        "ce",
        "memory",
        "disk",
        "heartbeat",
        "max-empty",
        "containers",
        "runtime-binary",
      ],
      collect: ["package"],
      boolean: ["wait", "help"],
    });
    if (f.help) {
      console.log(AGENT_USAGE);
      return 0;
    }
    for (const req of ["broker", "token", "work"]) {
      if (!f[req]) throw new TypeError(`--${req} is required\n${AGENT_USAGE}`);
    }
    const containers = parseRuntimeName(
      f.containers ?? Deno.env.get("USE_CONTAINERS") ?? "auto",
    );
    const binary = f["runtime-binary"];
    opts = {
      broker: f.broker,
      tokenDir: f.token,
      workRoot: f.work,
      containers,
      binaries: binary && containers !== "auto"
        ? { [containers]: binary } as Partial<Record<RuntimeName, string>>
        : undefined,
      cores: int("cores", f.cores, 1),
      ttl: int("ttl", f.ttl, 1),
      memory: int("memory", f.memory, 0),
      disk: int("disk", f.disk, 0),
      heartbeatSeconds: int("heartbeat", f.heartbeat, 1),
      maxEmpty: int("max-empty", f["max-empty"], 1),
      site: f.site,
      ce: f.ce,
      packages: f.package,
      wait: f.wait,
    };
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  const abort = new AbortController();
  const preempt = () => {
    console.error("[agent] signal received: preempting running jobs");
    abort.abort({
      reason: 90,
      message: "slot preempted by the batch system",
      graceMs: 5000,
    });
  };
  Deno.addSignalListener("SIGTERM", preempt);
  Deno.addSignalListener("SIGINT", preempt);
  try {
    const report = await runAgent({ ...opts, signal: abort.signal });
    console.log(
      JSON.stringify({
        runtime: report.runtime,
        jobs: report.jobs.map((j) => ({
          jobId: j.jobId,
          state: j.outcome.state,
          exitCode: j.outcome.exitCode,
        })),
      }),
    );
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGTERM", preempt);
    Deno.removeSignalListener("SIGINT", preempt);
  }
}
