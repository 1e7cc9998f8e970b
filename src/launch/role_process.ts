/**
 * Starts splitpilot's role processes (broker, agent) as separate Deno
 * processes with exactly their row of the permission table. Used by the
 * demo, the tests and the site startup script generator.
 *
 * @module
 */
import { brokerAddresses } from "../client/broker_addresses.ts";
import { databaseAddress } from "../broker/database_url.ts";
import {
  type AgentContext,
  agentPermissions,
  brokerPermissions,
  toDenoFlags,
} from "../permissions/table.ts";
import { launcherPrograms } from "../container/select.ts";
import type { RuntimeName } from "../container/driver.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The repository root this module lives in. */
export function repoRoot(): string {
  return ROOT;
}

/** Finds a free loopback port (bind port 0, read it, release it). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A command line: program and arguments. */
export interface CommandLine {
  /** Program. */
  cmd: string;
  /** Arguments. */
  args: string[];
}

/** The broker's command line. */
export function brokerCommand(
  opts: {
    stateDir: string;
    listen: string;
    extraArgs?: string[];
    /** A shared task queue (`postgres://…`), for replicas. */
    db?: string;
    /** A shared file store directory, for replicas. */
    filesDir?: string;
  },
): CommandLine {
  const flags = toDenoFlags(brokerPermissions({
    ...opts,
    database: databaseAddress(opts.db),
  }));
  return {
    cmd: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      ...flags,
      `${ROOT}/src/cli/main.ts`,
      "broker",
      "serve",
      "--state",
      opts.stateDir,
      "--listen",
      opts.listen,
      ...(opts.db ? ["--db", opts.db] : []),
      ...(opts.filesDir ? ["--files", opts.filesDir] : []),
      ...(opts.extraArgs ?? []),
    ],
  };
}

/**
 * Container launchers the agent may run for a `USE_CONTAINERS` value. The
 * table adds the agent's three helpers (`src/watchdog/helpers.ts`); no
 * shell: signals and `/proc` reads go through those helpers.
 */
export function agentLaunchers(
  containers: RuntimeName | "auto",
  binaries: Partial<Record<RuntimeName, string>> = {},
): string[] {
  const out = launcherPrograms(containers, {
    binaries,
    deno: Deno.execPath(),
  });
  return out;
}

/** Inputs of {@link agentCommand}. */
export interface AgentCommandOptions {
  /** Broker URL. */
  broker: string;
  /** Agent token dir. */
  tokenDir: string;
  /** Work root. */
  workRoot: string;
  /** Runtime. @default "auto" */
  containers?: RuntimeName | "auto";
  /** More agent flags. @default [] */
  extraArgs?: string[];
  /**
   * A built agent (`splitpilot-agent.run`, see `src/build/`): the command
   * is then `artefact siteDir --containers C …extraArgs`, and `tokenDir`
   * and `workRoot` must be `siteDir/token` and `siteDir/work` (the site
   * layout the artefact derives its permissions from).
   * @default undefined (deno run of agent.ts)
   */
  artefact?: string;
  /** The site work dir of `artefact`. */
  siteDir?: string;
  /** Software directory (images, setup script) the agent may read. */
  softwareDir?: string;
}

/** The table context of the agent {@link agentCommand} starts from source. */
export function agentContext(opts: AgentCommandOptions): AgentContext {
  return {
    // Every replica of a list: the agent fails over between them.
    broker: brokerAddresses(opts.broker),
    tokenDir: opts.tokenDir,
    workRoot: opts.workRoot,
    wrapperProgram: [`${ROOT}/wrapper.ts`, `${ROOT}/src`],
    deno: Deno.execPath(),
    launchers: agentLaunchers(opts.containers ?? "auto"),
    softwareDir: opts.softwareDir,
  };
}

/**
 * V8 flags of the agent: a 1 MiB young generation (V8's default grows it
 * to 16 MiB per semi-space). The agent's heap is small and mostly idle, so
 * more frequent scavenges cost it little, and its resident set shrinks by
 * several MB (README "Performance", agent RSS).
 */
export const AGENT_V8_FLAGS: readonly string[] = [
  "--v8-flags=--max-semi-space-size=1",
];

/** The agent's command line, permissions from the table. */
export function agentCommand(opts: AgentCommandOptions): CommandLine {
  const containers = opts.containers ?? "auto";
  if (opts.artefact) {
    const site = opts.siteDir ?? "";
    if (opts.tokenDir !== `${site}/token` || opts.workRoot !== `${site}/work`) {
      throw new TypeError(
        `a built agent takes its token and work root from its site dir: expected ${site}/token and ${site}/work`,
      );
    }
    return {
      cmd: opts.artefact,
      args: [site, "--containers", containers, ...(opts.extraArgs ?? [])],
    };
  }
  const flags = toDenoFlags(agentPermissions(agentContext(opts)));
  return {
    cmd: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      ...AGENT_V8_FLAGS,
      ...flags,
      `${ROOT}/agent.ts`,
      "--broker",
      opts.broker,
      "--token",
      opts.tokenDir,
      "--work",
      opts.workRoot,
      "--containers",
      containers,
      ...(opts.extraArgs ?? []),
    ],
  };
}

/** A broker running as a child process. */
export interface BrokerProcess {
  /** Base URL. */
  url: string;
  /** The child. */
  child: Deno.ChildProcess;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/** Starts the broker process and waits until it listens. */
export async function startBrokerProcess(
  opts: {
    stateDir: string;
    port?: number;
    extraArgs?: string[];
    db?: string;
    filesDir?: string;
  },
): Promise<BrokerProcess> {
  const port = opts.port ?? freePort();
  const { cmd, args } = brokerCommand({
    stateDir: opts.stateDir,
    listen: `127.0.0.1:${port}`,
    extraArgs: opts.extraArgs,
    db: opts.db,
    filesDir: opts.filesDir,
  });
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const errText = new Response(child.stderr).text();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
  try {
    while (!seen.includes("listening on")) {
      const { done, value } = await reader.read();
      if (done) {
        await child.status;
        throw new Error(
          `broker exited before listening: ${(await errText).trim()}`,
        );
      }
      seen += value;
    }
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const url = /listening on (\S+)/.exec(seen)![1];
  return {
    url,
    child,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await errText;
    },
  };
}
