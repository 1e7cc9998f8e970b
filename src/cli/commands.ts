/**
 * The registry of `splitpilot` commands: one entry per command, with what
 * `help` shows and what the launcher needs to grant it (see
 * `launch_plan.ts`). Adding a command is one entry here plus its module;
 * nothing else dispatches by name.
 *
 * @example
 * ```ts
 * const cmd = COMMANDS["ps"];
 * const code = await (await cmd.load()).main(["--state", "RUNNING"]);
 * ```
 *
 * @module
 */
import type { CliIo } from "./cli_io.ts";

/** What a command module exports. */
export interface CommandModule {
  /** Runs the command; returns the exit code. */
  main(args: string[], io?: CliIo): Promise<number>;
}

/**
 * What a command may touch, for the launcher's permission flags:
 * - `user`: the configured brokers (net), the token dir (read);
 * - `broker`: the broker row of the permission table;
 * - `agent`: starts a role process with the table's flags (`agent`,
 *   `factory`): run the deno binary, read PATH to find batch commands;
 * - `local`: files only.
 */
export type CommandKind = "user" | "broker" | "agent" | "local";

/** One command. */
export interface CommandSpec {
  /** `help` line: the synopsis. */
  synopsis: string;
  /** `help` line: what it does. */
  summary: string;
  /** See {@link CommandKind}. */
  kind: CommandKind;
  /**
   * Flags whose values are local paths the command reads or writes (the
   * launcher grants them even before they exist). Arguments naming an
   * existing path are granted anyway.
   */
  paths?: { flags?: string[] };
  /**
   * The command serves on `--listen HOST:PORT`, with this default (e.g.
   * `dashboard`): the launcher grants that address too.
   */
  listen?: string;
  /** Default output paths when no path flag names them (e.g. `get`'s `job-ID`). */
  outputs?(args: readonly string[]): string[];
  /** Loads the module. */
  load(): Promise<CommandModule>;
}

/** Every command, in `help` order. */
export const COMMANDS: Record<string, CommandSpec> = {
  config: {
    synopsis: "config",
    summary: "show each setting, its value and where it came from",
    kind: "local",
    load: () => import("./config_cmd.ts"),
  },
  ca: {
    synopsis: "ca init --state DIR",
    summary: "create the token CA (key 0600, never overwritten)",
    kind: "local",
    paths: { flags: ["state"] },
    load: () => import("./ca_cmd.ts"),
  },
  token: {
    synopsis: "token issue|show ...",
    summary: "issue or inspect token certificates",
    kind: "local",
    paths: { flags: ["state", "out", "ca"] },
    load: () => import("./token_cmd.ts"),
  },
  broker: {
    synopsis: "broker serve --state DIR --listen HOST:PORT [--san NAME]...",
    summary: "run the broker (any address: 0.0.0.0, [::], a name)",
    kind: "broker",
    paths: { flags: ["state"] },
    load: () => import("./broker_cmd.ts"),
  },
  agent: {
    synopsis: "agent --broker URL --token DIR --work DIR [--print-command] ...",
    summary: "start an agent with the permission table's flags",
    kind: "agent",
    paths: { flags: ["token", "work", "software-dir", "wrapper"] },
    load: () => import("./agent_cmd.ts"),
  },
  factory: {
    synopsis: "factory --site S --slurm|--htcondor|--pbs ...",
    summary:
      "run a site's pilot factory (submits startup scripts to the batch system)",
    kind: "agent",
    paths: { flags: ["token", "work", "batch-bin"] },
    load: () => import("./factory_cmd.ts"),
  },
  submit: {
    synopsis: "submit FILE|-",
    summary: "submit a JDL; prints the job ID",
    kind: "user",
    load: () => import("./submit_cmd.ts"),
  },
  ps: {
    synopsis: "ps [--state S] [--user U]",
    summary: "list jobs with their accounting",
    kind: "user",
    load: () => import("./ps_cmd.ts"),
  },
  trace: {
    synopsis: "trace ID",
    summary: "a job's accounting and state history",
    kind: "user",
    load: () => import("./trace_cmd.ts"),
  },
  why: {
    synopsis: "why ID",
    summary: "why a waiting job waits: the requirement no recent agent met",
    kind: "user",
    load: () => import("./why_cmd.ts"),
  },
  jdl: {
    synopsis: "jdl check FILE... | jdl fmt FILE",
    summary:
      "validate JDL files (warnings, line and column) or print the canonical form",
    kind: "local",
    load: () => import("./jdl_cmd.ts"),
  },
  kill: {
    synopsis: "kill ID",
    summary: "kill a job (KILLED, reason 30)",
    kind: "user",
    load: () => import("./kill_cmd.ts"),
  },
  resubmit: {
    synopsis: "resubmit ID",
    summary: "put a failed, expired or killed job back in the queue",
    kind: "user",
    load: () => import("./resubmit_cmd.ts"),
  },
  get: {
    synopsis: "get ID|LFN [--out DIR]",
    summary: "download a job's outputs or one file (sha-256 checked)",
    kind: "user",
    paths: { flags: ["out"] },
    outputs: (args) => {
      if (
        args.some((a) => a === "--out" || a.startsWith("--out=") || a === "-o")
      ) {
        return [];
      }
      const target = args.find((a) => !a.startsWith("-"));
      if (target === undefined) return [];
      if (/^\d+$/.test(target)) return [`job-${target}`];
      const base = target.slice(target.lastIndexOf("/") + 1);
      return base ? [base, `${base}.part`] : [];
    },
    load: () => import("./get_cmd.ts"),
  },
  put: {
    synopsis: "put LOCAL LFN",
    summary: "upload a file into your tree (sha-256 checked)",
    kind: "user",
    load: () => import("./put_cmd.ts"),
  },
  ls: {
    synopsis: "ls [LFN]",
    summary: "list your files",
    kind: "user",
    load: () => import("./ls_cmd.ts"),
  },
  logs: {
    synopsis: "logs ID [-f]",
    summary: "a job's output, live while it runs (-f follows)",
    kind: "user",
    load: () => import("./logs_cmd.ts"),
  },
  dashboard: {
    synopsis: "dashboard [--listen H:P]",
    summary: "a live web page of your jobs and the sites (loopback)",
    kind: "user",
    listen: "127.0.0.1:8080",
    load: () => import("./dashboard_cmd.ts"),
  },
  rm: {
    synopsis: "rm LFN...",
    summary: "remove files from your tree",
    kind: "user",
    load: () => import("./rm_cmd.ts"),
  },
  cat: {
    synopsis: "cat LFN",
    summary: "print a file (sha-256 checked)",
    kind: "user",
    load: () => import("./cat_cmd.ts"),
  },
  site: {
    synopsis: "site publish|script ...",
    summary: "publish built artefacts; write a batch startup script",
    kind: "local",
    paths: { flags: ["state", "dist", "out"] },
    load: () => import("./site_cmd.ts"),
  },
  audit: {
    synopsis: "audit LOG... --role agent|wrapper|broker ...",
    summary: "replay a DENO_AUDIT_PERMISSIONS log against the table",
    kind: "local",
    paths: { flags: ["context"] },
    load: () => import("./audit_cmd.ts"),
  },
  authz: {
    synopsis: "authz",
    summary: "print the authorization table",
    kind: "local",
    load: () => import("./authz_cmd.ts"),
  },
};
