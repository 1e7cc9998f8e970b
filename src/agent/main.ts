/**
 * The agent's command line: flags → {@link AgentOptions}, signals →
 * preemption, exit codes.
 *
 * @module
 */
import { brokerAddresses } from "../client/broker_addresses.ts";
import { parsePayloadNetwork, type PayloadNetwork } from "../jdl/mod.ts";
import { parseFlags as parseArgs } from "../flags/parse_flags.ts";
import { hasControl } from "../jdl/_position.ts";
import type { RuntimeName } from "../container/driver.ts";
import { parseRuntimeName } from "../container/select.ts";
import { KillReason } from "../protocol/kill_reason.ts";
import { runAgent } from "./agent.ts";
import { parsePayloadUser } from "../container/payload_user.ts";
import { batchSlotFromEnv } from "./batch_slot.ts";
import { builtWrapperProgram, sourceWrapperProgram } from "./wrapper_launch.ts";
import type { StopRequest } from "./matched_job.ts";
import { checkWrapperAudit, checkWrapperDir } from "./wrapper_guard.ts";

const SAMPLERS = ["auto", "procfs", "cgroup", "off"] as const;

function samplerKind(
  v: string | undefined,
): typeof SAMPLERS[number] | undefined {
  if (v === undefined) return undefined;
  if (!(SAMPLERS as readonly string[]).includes(v)) {
    throw new TypeError(
      `--sampler ${v}: expected one of ${SAMPLERS.join(", ")}`,
    );
  }
  return v as typeof SAMPLERS[number];
}

function auditMode(v: string | undefined): boolean {
  if (v === undefined || v === "on") return true;
  if (v === "off") return false;
  throw new TypeError(`--audit ${v}: expected on or off`);
}

/** `--payload-network`: `none` or `host`. */
function payloadNetworkFlag(v: string | undefined): PayloadNetwork | undefined {
  if (v === undefined) return undefined;
  const n = parsePayloadNetwork(v);
  if (!n) {
    throw new TypeError(`--payload-network ${v}: expected none or host`);
  }
  return n;
}

/** `--wrapper-net`: `relay` or `direct`. */
function wrapperNetFlag(v: string | undefined): "relay" | "direct" | undefined {
  if (v === undefined || v === "relay" || v === "direct") return v;
  throw new TypeError(`--wrapper-net ${v}: expected relay or direct`);
}

/** Usage text. */
export const AGENT_USAGE =
  `usage: agent.ts --broker https://HOST:PORT --token DIR --work DIR
  [--cores N] [--ttl SECONDS] [--site S] [--ce CE] [--package P]...
  [--attr KEY=VALUE[,VALUE]]...
  [--memory BYTES] [--disk BYTES] [--heartbeat SECONDS] [--kill-check SECONDS]
  [--max-empty N] [--wait]
  [--sample SECONDS] [--sampler auto|procfs|cgroup|off] [--ttl-grace SECONDS]
  [--kill-grace SECONDS] [--preempt-grace SECONDS] [--low-cpu-window SECONDS]
  [--margin SECONDS]
  [--containers auto|none|bwrap|podman|apptainer|singularity|docker]
  [--runtime-binary PATH | --runtime-binary NAME=PATH]...
  [--software-dir DIR] [--image NAME] [--max-start-failures N]
  [--wrapper DIR] [--wrapper-audit PATH] [--allow-no-container]
  [--payload-user UID[:GID]] [--audit on|off] [--payload-network none|host]
  [--wrapper-net relay|direct] [--no-prestart]
--audit on|off: check every wrapper's permission audit against the table
  at job end (default on); off is recorded in each job's trace
--no-prestart: start each wrapper only once its job is matched (by default
  the next job's wrapper starts ahead, up to its hello; README "Performance")
--payload-network none|host: the payload network of jobs without a JDL
  Network; with none, jobs asking for host are not matched here (default host)
--wrapper-net relay|direct: relay (default): wrappers have no network, the
  agent makes their broker calls with the job token; direct: wrappers get the
  token and --allow-net to the broker (comparison benchmarks only)
--allow-no-container: let auto fall back to none (no container; see README
  "Threat model"); without it the agent exits when no container runtime works
--payload-user UID[:GID]: the unprivileged ids payloads run as when the agent
  is root (bwrap, none) and inside podman containers; default 65534:65534
--wrapper DIR: a built wrapper unpacked in DIR (run, deno, wrapper.js), bound
  read-only into the container; default: deno run of this checkout's wrapper.ts
--wrapper-audit PATH: DENO_AUDIT_PERMISSIONS of every wrapper, as it sees PATH;
  /dev/stderr (the default stream, checked by the agent) also passes the
  records on to this agent's stderr
--attr KEY=VALUE[,VALUE]: a site attribute for other.KEY in Requirements, e.g.
  GridPartitions=quickreco,ultrapower (a list), Price=1, Type=machine (default)
environment: USE_CONTAINERS (same as --containers)`;

/** Parses `--runtime-binary` values: `PATH` (the chosen runtime) or `NAME=PATH`. */
export function runtimeBinaries(
  values: string[],
  containers: RuntimeName | "auto",
): Partial<Record<RuntimeName, string>> | undefined {
  const out: Partial<Record<RuntimeName, string>> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const name = eq > 0 ? parseRuntimeName(v.slice(0, eq)) : containers;
    const path = eq > 0 ? v.slice(eq + 1) : v;
    if (name === "auto" || !path.startsWith("/")) {
      throw new TypeError(
        `--runtime-binary ${v}: expected NAME=/ABSOLUTE/PATH (or /ABSOLUTE/PATH with a named --containers)`,
      );
    }
    out[name] = path;
  }
  return values.length > 0 ? out : undefined;
}

/** An absolute path: relative ones are taken from the working directory. */
function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

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

function brokerHostPort(url: string): string {
  return brokerAddresses(url);
}

/**
 * `--attr KEY=VALUE[,VALUE]` (repeatable): one value is a number when it
 * looks like one, else a string; several make a list of strings.
 */
export function parseAttributes(
  specs: readonly string[] | undefined,
): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const spec of specs ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(spec);
    if (m === null || m[2] === "" || hasControl(m[2])) {
      throw new TypeError(
        `--attr ${
          JSON.stringify(spec)
        }: expected KEY=VALUE[,VALUE...], e.g. GridPartitions=quickreco,ultrapower`,
      );
    }
    const values = m[2].split(",").map((v) => v.trim()).filter((v) => v !== "");
    out[m[1]] = values.length === 1
      ? (/^-?\d+(\.\d+)?$/.test(values[0]) ? Number(values[0]) : values[0])
      : values;
  }
  return out;
}

/**
 * Runs the agent CLI (`agent.ts`): parses the flags, runs {@link runAgent}
 * and turns SIGTERM/SIGINT into preemption; returns the exit code (0 when
 * the queue ran dry, 2 for bad flags, 1 when the runtime failed its probe).
 *
 * @example
 * ```ts ignore
 * import { agentMain } from "./main.ts";
 * Deno.exit(await agentMain([
 *   "--broker", "https://127.0.0.1:8443",
 *   "--token", "/var/lib/splitpilot/agent-token",
 *   "--work", "/scratch/pilot",
 *   "--cores", "8", "--ttl", "86400", "--site", "CERN",
 * ]));
 * ```
 */
export async function agentMain(args: string[]): Promise<number> {
  let opts;
  let preemptGrace = 10;
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
        "kill-check",
        "max-empty",
        "sample",
        "sampler",
        "ttl-grace",
        "kill-grace",
        "preempt-grace",
        "low-cpu-window",
        "margin",
        "containers",
        "runtime-binary",
        "software-dir",
        "image",
        "max-start-failures",
        "wrapper",
        "wrapper-audit",
        "attr",
        "payload-user",
        "audit",
        "payload-network",
        "wrapper-net",
      ],
      collect: ["package", "runtime-binary", "attr"],
      boolean: ["wait", "help", "allow-no-container", "no-prestart"],
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
    // Flags win; otherwise the batch system's own view of the slot.
    const slot = batchSlotFromEnv();
    if (slot.source && (f.cores === undefined || f.ttl === undefined)) {
      console.error(
        `[agent] slot from ${slot.source}: ${slot.cores ?? "?"} core(s), ${
          slot.ttlSeconds ?? "?"
        } s left`,
      );
    }
    const auditLog = f["wrapper-audit"];
    if (auditLog) checkWrapperAudit(auditLog);
    if (f.wrapper) checkWrapperDir(absolute(f.wrapper), [absolute(f.work)]);
    const program = f.wrapper
      ? builtWrapperProgram(absolute(f.wrapper), {
        broker: brokerHostPort(f.broker),
        auditLog,
      })
      : auditLog
      ? { ...sourceWrapperProgram(), auditLog }
      : undefined;
    opts = {
      broker: f.broker,
      tokenDir: absolute(f.token),
      workRoot: absolute(f.work),
      program,
      containers,
      binaries: runtimeBinaries(f["runtime-binary"], containers),
      softwareDir: f["software-dir"] && absolute(f["software-dir"]),
      image: f.image,
      maxStartFailures: int("max-start-failures", f["max-start-failures"], 1),
      cores: int("cores", f.cores, 1) ?? slot.cores,
      ttl: int("ttl", f.ttl, 1) ?? slot.ttlSeconds,
      memory: int("memory", f.memory, 0),
      disk: int("disk", f.disk, 0),
      heartbeatSeconds: int("heartbeat", f.heartbeat, 1),
      killCheckSeconds: int("kill-check", f["kill-check"], 0),
      maxEmpty: int("max-empty", f["max-empty"], 1),
      sampleSeconds: int("sample", f.sample, 1),
      sampler: samplerKind(f.sampler),
      ttlGraceSeconds: int("ttl-grace", f["ttl-grace"], 0),
      killGraceSeconds: int("kill-grace", f["kill-grace"], 1),
      lowCpuWindowSeconds: int("low-cpu-window", f["low-cpu-window"], 0),
      marginSeconds: int("margin", f.margin, 0),
      site: f.site,
      ce: f.ce,
      packages: f.package,
      attributes: parseAttributes(f.attr),
      wait: f.wait,
      allowNoContainer: f["allow-no-container"],
      audit: auditMode(f.audit),
      prestart: !f["no-prestart"],
      payloadUser: f["payload-user"] !== undefined
        ? parsePayloadUser(f["payload-user"])
        : undefined,
      payloadNetwork: payloadNetworkFlag(f["payload-network"]),
      wrapperNet: wrapperNetFlag(f["wrapper-net"]),
    };
    preemptGrace = int("preempt-grace", f["preempt-grace"], 1) ?? 10;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  const abort = new AbortController();
  // A stray rejection in one job's code must not end the agent and every
  // other job with it: log it, keep going (see README, poison-proof).
  const onStray = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    console.error(
      `[agent] internal error (ignored): ${
        (e.reason as Error)?.stack ?? String(e.reason)
      }`,
    );
  };
  globalThis.addEventListener("unhandledrejection", onStray);
  const preempt = (sig: Deno.Signal) => {
    if (abort.signal.aborted) return;
    console.error(`[agent] ${sig} received: preempting running jobs`);
    abort.abort(
      {
        reason: KillReason.PREEMPTED,
        message: `preempted: the batch system reclaimed the slot (${sig})`,
        graceMs: preemptGrace * 1000,
      } satisfies StopRequest,
    );
  };
  const onTerm = () => preempt("SIGTERM");
  const onInt = () => preempt("SIGINT");
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  try {
    const report = await runAgent({ ...opts, signal: abort.signal });
    console.log(
      JSON.stringify({
        runtime: report.runtime,
        sampler: report.sampler,
        jobs: report.jobs.map((j) => ({
          jobId: j.jobId,
          state: j.outcome.state,
          exitCode: j.outcome.exitCode,
          killReason: j.outcome.killReason,
          startedAt: j.outcome.startedAt,
          endedAt: j.outcome.endedAt,
          usage: j.outcome.usage,
        })),
      }),
    );
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGTERM", onTerm);
    Deno.removeSignalListener("SIGINT", onInt);
    globalThis.removeEventListener("unhandledrejection", onStray);
  }
}
