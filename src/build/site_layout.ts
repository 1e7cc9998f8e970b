/**
 * The fixed, documented locations a built artefact derives its runtime
 * permissions from, relative to the one directory it is started with.
 *
 * Permissions that depend on where things live at a site cannot be known
 * at build time. Rather than accept them from the command line or the
 * environment (which would let anyone widen them), a built launcher takes a
 * single work directory `W` and computes every path from it:
 *
 * | role | started as | derived from `W` |
 * |---|---|---|
 * | agent | `splitpilot-agent.run W [agent flags]` | token `W/token/`, work root `W/work/`, wrapper `W/rt/wrapper/` (unpacked from `W/splitpilot-wrapper.run`), own runtime `W/rt/agent/` with its helpers in `W/rt/agent/helpers/` |
 * | wrapper | `W/rt/wrapper/run SANDBOX [wrapper flags]` (by the agent) | read/write `SANDBOX` only; `--allow-run` = the JSON array in `SANDBOX/.splitpilot/allow-run`, written by the agent before the start |
 * | broker/CLI | `splitpilot-broker.run STATE [splitpilot args]` | read/write `STATE`; own runtime `STATE/rt/broker/`, which `--deny-write=STATE/rt` keeps read-only |
 *
 * The broker address (and the broker's listen address) are baked in at
 * build time. The same functions feed the build (with a placeholder for
 * `W`) and the permission audit (with the real path), so both agree with
 * the role table in `src/permissions/table.ts`.
 *
 * @module
 */
import type {
  AgentContext,
  BrokerContext,
  ProcessRole,
  WrapperContext,
} from "../permissions/table.ts";
import { DEFAULT_BINARIES } from "../container/select.ts";
import { agentHelpers, HELPER_DIR } from "../watchdog/helpers.ts";

/** File name of a role's packed artefact. */
export function artefactName(role: ProcessRole): string {
  return `splitpilot-${role}.run`;
}

/** File name of a role's bundle inside its unpacked directory. */
export function bundleName(role: ProcessRole): string {
  return `${role}.js`;
}

/** The agent's paths below a site work dir. */
export interface SiteLayout {
  /** The work dir itself. */
  workDir: string;
  /** Agent token dir (`cert.pem`, `key.pem`, `ca.pem`). */
  tokenDir: string;
  /** Work root: job sandboxes. */
  workRoot: string;
  /** Unpacked runtimes. */
  runtimeDir: string;
  /** Unpacked agent artefact. */
  agentDir: string;
  /** Unpacked wrapper artefact (bound read-only into containers). */
  wrapperDir: string;
  /** The wrapper's fixed-permission launcher. */
  wrapperLauncher: string;
  /** Where the packed wrapper artefact is expected. */
  wrapperArtefact: string;
}

/** Paths below a site work dir `W` (no trailing slash). */
export function siteLayout(workDir: string): SiteLayout {
  const w = workDir.replace(/\/+$/, "") || "/";
  return {
    workDir: w,
    tokenDir: `${w}/token`,
    workRoot: `${w}/work`,
    runtimeDir: `${w}/rt`,
    agentDir: `${w}/rt/agent`,
    wrapperDir: `${w}/rt/wrapper`,
    wrapperLauncher: `${w}/rt/wrapper/run`,
    wrapperArtefact: `${w}/${artefactName("wrapper")}`,
  };
}

/**
 * The agent's row context for a built agent started with work dir `W`.
 * It may run what the source agent may run for `USE_CONTAINERS=auto`
 * (see `agentLaunchers` in `src/launch/role_process.ts`): `bwrap`, or for
 * `none` `setpriv` (its reaper, and the payload user's capability drop as
 * root) and the wrapper's own launcher (in place of `deno`), and its three
 * helpers, unpacked with it into `W/rt/agent/helpers/`.
 */
export function siteAgentContext(
  workDir: string,
  broker: string,
): AgentContext {
  const l = siteLayout(workDir);
  return {
    broker,
    tokenDir: l.tokenDir,
    workRoot: l.workRoot,
    wrapperProgram: [l.wrapperDir],
    deno: `${l.wrapperDir}/deno`,
    launchers: [
      DEFAULT_BINARIES.bwrap,
      DEFAULT_BINARIES.none,
      l.wrapperLauncher,
    ],
    helpers: agentHelpers(`${l.agentDir}/${HELPER_DIR}`),
  };
}

/** The wrapper's row context for a built wrapper in `sandbox`. */
export function siteWrapperContext(
  sandbox: string,
  payload: string[] = [],
): WrapperContext {
  // No broker: a built wrapper's calls are relayed by the agent.
  return { sandbox, payload };
}

/** The broker's row context for a built broker on `stateDir`. */
export function siteBrokerContext(
  stateDir: string,
  listen: string,
): BrokerContext {
  return { listen, stateDir };
}
