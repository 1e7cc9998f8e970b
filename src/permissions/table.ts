/**
 * The one role → Deno permissions table (docs/ARCHITECTURE.md, "Permissions
 * mirror roles").
 *
 * Every place that starts a splitpilot process takes its flags from here:
 * the agent when it spawns a wrapper, the demo and tests when they spawn a
 * broker or an agent, the build when it bakes flags into an artefact, and the
 * audit that replays `DENO_AUDIT_PERMISSIONS` logs against the table. Keeping
 * it in one place is what makes "permissions mirror token roles" checkable.
 *
 * | process | net | read | write | run | env |
 * |---|---|---|---|---|---|
 * | agent | broker host:port | config + token, work root, wrapper program, deno, image/software dir | work root | container launcher (or deno for `none`), its three helpers | named vars |
 * | wrapper | none (its broker calls go over the pipe; the agent relays them) | its sandbox (+ its own program) | its sandbox | the payload | named vars |
 * | broker | its listen address | state dir | state dir, except its runtime `STATE/rt` | none | named vars |
 * | factory | broker host:port | its token dir, work dir | work dir | the batch system's submit, status and cancel commands | named vars |
 *
 * The agent's helpers (`src/watchdog/helpers.ts`) are the only programs it
 * runs besides the launcher: `splitpilot-procfs` (the procfs sampler loop;
 * Deno wants `--allow-all` for any read below `/proc`, so the agent has no
 * `/proc` grant), `splitpilot-kill` (signals to processes and groups
 * already verified to be the job's) and `splitpilot-du` (the sandbox
 * probe). None of them takes a command or evaluates its input.
 *
 * @module
 */
import { splitAddresses } from "../client/broker_addresses.ts";
import { agentHelpers } from "../watchdog/helpers.ts";

/** A process role; each maps to exactly one token role (see the table). */
export type ProcessRole = "agent" | "wrapper" | "broker";

/** Permissions granted to a process, one list per Deno permission kind. */
export interface PermissionSet {
  /** `host:port` entries for `--allow-net`. */
  net: string[];
  /** Paths for `--allow-read`. */
  read: string[];
  /** Paths for `--allow-write`. */
  write: string[];
  /**
   * Paths inside `write` that stay read-only (`--deny-write`, which wins
   * over the grant): a role's own runtime. @default []
   */
  denyWrite?: string[];
  /** Programs (absolute paths) for `--allow-run`. */
  run: string[];
  /** Variable names (a trailing `*` is a prefix match) for `--allow-env`. */
  env: string[];
}

/** Environment variables the agent may read. */
export const AGENT_ENV: readonly string[] = [
  "HOME",
  "PATH",
  "TMPDIR",
  "USE_CONTAINERS",
  "SPLITPILOT_*",
  "SLURM_JOB_ID",
  // The slot, when a batch system started the agent (src/agent/batch_slot.ts).
  "SLURM_CPUS_ON_NODE",
  "SLURM_JOB_CPUS_PER_NODE",
  "SLURM_JOB_END_TIME",
  "NO_COLOR",
  // The docker driver's daemon address (never passed into a container).
  "DOCKER_HOST",
];

/** Environment variables the wrapper may read. */
export const WRAPPER_ENV: readonly string[] = [
  "HOME",
  "PATH",
  "TMPDIR",
  "SPLITPILOT_*",
  "NO_COLOR",
];

/**
 * Environment variables the broker may read: its own, and libpq's `PG*`
 * (PGPASSWORD keeps a database password out of the command line).
 */
export const BROKER_ENV: readonly string[] = [
  "SPLITPILOT_*",
  "PG*",
  "NO_COLOR",
];

/** What the agent's permissions depend on. */
export interface AgentContext {
  /** Broker `host:port` (replicas: several, space-separated). */
  broker: string;
  /** Agent token directory (cert.pem, key.pem, ca.pem). */
  tokenDir: string;
  /** Work root: job sandboxes are created below it. */
  workRoot: string;
  /** The wrapper program (source dir or built artefact) the agent starts. */
  wrapperProgram: string[];
  /** The deno executable used to run the wrapper. */
  deno: string;
  /** The container launcher, e.g. `/usr/bin/bwrap`; empty for `none`. */
  launchers: string[];
  /**
   * The agent's helpers (absolute paths).
   * @default the shipped helpers next to the watchdog's code
   */
  helpers?: string[];
  /** Software directory (images, setup script), if any. */
  softwareDir?: string;
  /** Extra read-only config files. @default [] */
  configFiles?: string[];
}

/** What the wrapper's permissions depend on. */
export interface WrapperContext {
  /**
   * Broker `host:port` (replicas: several, space-separated), only for a wrapper that connects to it itself
   * (agent `--wrapper-net direct`, kept for comparison benchmarks). A
   * relayed wrapper, the default, has no network permission at all
   * (docs/ARCHITECTURE.md, "The relay"). @default none
   */
  broker?: string;
  /** The job sandbox as the wrapper sees it (e.g. `/workdir`). */
  sandbox: string;
  /** Programs the wrapper may start: the payload and validation command. */
  payload: string[];
  /** The wrapper's own program files (read for `Deno.mainModule` only). @default [] */
  program?: string[];
}

/** Environment variables a pilot factory may read. */
export const FACTORY_ENV: readonly string[] = [
  "HOME",
  "PATH",
  "SPLITPILOT_*",
  "SLURM_CONF",
  "NO_COLOR",
];

/** What a pilot factory's permissions depend on. */
export interface FactoryContext {
  /** Broker `host:port` (replicas: several, space-separated). */
  broker: string;
  /** Its HOST token directory. */
  tokenDir: string;
  /** Pilot scripts and batch logs. */
  workDir: string;
  /** The batch commands it runs (absolute paths). */
  batchCommands: string[];
}

/** What the broker's permissions depend on. */
export interface BrokerContext {
  /** Listen `host:port`. */
  listen: string;
  /** State directory (CA, database, file store). */
  stateDir: string;
  /** PostgreSQL `host:port` of a shared task queue, if any. */
  database?: string;
  /** A file store outside the state dir (shared by replicas), if any. */
  filesDir?: string;
}

/** The agent row of the table. */
export function agentPermissions(ctx: AgentContext): PermissionSet {
  return {
    net: splitAddresses(ctx.broker),
    read: unique([
      ctx.tokenDir,
      ctx.workRoot,
      ...ctx.wrapperProgram,
      ctx.deno,
      ...(ctx.softwareDir ? [ctx.softwareDir] : []),
      ...(ctx.configFiles ?? []),
    ]),
    write: [ctx.workRoot],
    run: unique([
      ...(ctx.launchers.length > 0 ? ctx.launchers : [ctx.deno]),
      ...(ctx.helpers ?? agentHelpers()),
    ]),
    env: [...AGENT_ENV],
  };
}

/** The wrapper row of the table. */
export function wrapperPermissions(ctx: WrapperContext): PermissionSet {
  return {
    net: ctx.broker ? splitAddresses(ctx.broker) : [],
    read: unique([ctx.sandbox, ...(ctx.program ?? [])]),
    write: [ctx.sandbox],
    run: unique(ctx.payload),
    env: [...WRAPPER_ENV],
  };
}

/** The broker row of the table. */
export function brokerPermissions(ctx: BrokerContext): PermissionSet {
  return {
    net: unique([ctx.listen, ctx.database ?? ""]),
    read: unique([ctx.stateDir, ctx.filesDir ?? ""]),
    write: unique([ctx.stateDir, ctx.filesDir ?? ""]),
    // A built broker's runtime is unpacked into STATE/rt: never writable.
    denyWrite: [`${ctx.stateDir}/rt`],
    run: [],
    env: [...BROKER_ENV],
  };
}

/**
 * The factory row (HOST token, src/factory/): it reaches the broker,
 * reads its token, writes its pilot scripts and runs only the batch
 * system's own commands.
 */
export function factoryPermissions(ctx: FactoryContext): PermissionSet {
  return {
    net: splitAddresses(ctx.broker),
    read: unique([ctx.tokenDir, ctx.workDir]),
    write: [ctx.workDir],
    run: unique(ctx.batchCommands),
    env: [...FACTORY_ENV],
  };
}

/**
 * Turns a permission set into `deno run` flags. An empty list yields no
 * flag at all (deny), never a bare `--allow-x` (which would mean "all").
 */
export function toDenoFlags(set: PermissionSet): string[] {
  const flags: string[] = [];
  const add = (name: string, values: string[]) => {
    for (const v of values) {
      // \x01 is left to the build's path placeholders (WORKDIR_MARK).
      // deno-lint-ignore no-control-regex
      if (/[\x00\x02-\x1f\x7f]/.test(v)) {
        throw new TypeError(
          `permission entry ${
            JSON.stringify(v)
          } for --allow-${name} contains a control character; expected a plain path or host:port`,
        );
      }
      if (v.includes(",")) {
        throw new TypeError(
          `permission entry "${v}" for --allow-${name} contains a comma; expected a plain path or host:port`,
        );
      }
    }
    if (values.length > 0) flags.push(`--allow-${name}=${values.join(",")}`);
  };
  add("net", set.net);
  add("read", set.read);
  add("write", set.write);
  add("run", set.run);
  add("env", set.env);
  const deny = set.denyWrite ?? [];
  for (const v of deny) {
    if (v.includes(",")) {
      throw new TypeError(
        `permission entry "${v}" for --deny-write contains a comma; expected a plain path`,
      );
    }
  }
  if (deny.length > 0) flags.push(`--deny-write=${deny.join(",")}`);
  return flags;
}

function unique(values: string[]): string[] {
  return [...new Set(values.filter((v) => v.length > 0))];
}
