/**
 * Helpers for the agent lifecycle tests (`agent_*_test.ts`): an agent
 * process that keeps running while the test signals it, payload markers,
 * job lookups and polling. Built on `_grid.ts`; nothing is mocked.
 *
 * @module
 */
import type { Grid } from "./_grid.ts";
import { isAuditNote } from "../src/protocol/audit_verdict.ts";
import {
  agentCommand,
  type AgentCommandOptions,
} from "../src/launch/role_process.ts";

/** A job as `GET /api/v1/jobs/:id` shows it. */
export interface JobView {
  /** State. */
  state: string;
  /** Exit code. */
  exitCode: number | null;
  /** Kill reason. */
  killReason: number | null;
  /** Resubmissions so far. */
  resubmissions: number;
  /** Last usage reported. */
  usage: {
    cpuSeconds: number;
    rssBytes: number;
    maxRssBytes?: number;
    wallSeconds: number;
    diskBytes: number;
  } | null;
}

/** One trace entry. */
export interface TraceEntry {
  /** State entered. */
  state: string;
  /** Who. */
  actor: string;
  /** Why. */
  reason: string;
}

/** The job, as its owner sees it. */
export async function job(grid: Grid, id: string): Promise<JobView> {
  return (await grid.user.json<JobView>("GET", `/api/v1/jobs/${id}`))!;
}

/**
 * The job's trace, without the agent's permission-audit line (filed after
 * the job ended; {@link fullTrace} has it), so that the last entry says
 * how the job ended.
 */
export async function trace(grid: Grid, id: string): Promise<TraceEntry[]> {
  return (await fullTrace(grid, id)).filter((e) => !isAuditNote(e));
}

/** The job's whole trace. */
export async function fullTrace(
  grid: Grid,
  id: string,
): Promise<TraceEntry[]> {
  return (await grid.user.json<{ trace: TraceEntry[] }>(
    "GET",
    `/api/v1/jobs/${id}/trace`,
  ))!.trace;
}

/** A random marker to find a test's payload processes by. */
export function marker(): string {
  return `${Math.floor(1e8 + Math.random() * 9e8)}`;
}

/** Pids of processes whose command line contains `text`. */
export async function pgrep(text: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", text] }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l)
    .map(Number);
}

/** Polls `ok` every 100 ms; throws naming `what` after `ms`. */
export async function waitFor(
  what: string,
  ok: () => Promise<boolean> | boolean,
  ms = 60_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills leftovers of a failed test (never fails itself). */
export async function killMarked(text: string): Promise<void> {
  for (const pid of await pgrep(text)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** An agent process the test can signal. */
export interface AgentProcess {
  /** The child. */
  child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** Waits for the exit; returns code and the whole log. */
  done(): Promise<{ code: number; signal: Deno.Signal | null; log: string }>;
  /** SIGKILL (if still running) and wait. */
  kill(): Promise<void>;
}

/** Starts an agent process (permissions from the table) without waiting. */
export function spawnAgent(
  grid: Grid,
  o: Partial<AgentCommandOptions> = {},
): AgentProcess {
  const { cmd, args } = agentCommand({
    broker: grid.url,
    tokenDir: o.tokenDir ?? grid.agentTokenDir,
    workRoot: o.workRoot ?? `${grid.dir}/work`,
    containers: o.containers ?? "auto",
    extraArgs: o.extraArgs ?? [],
  });
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  const drained = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) text += dec.decode(chunk);
  })().catch(() => {});
  let exited = false;
  const status = child.status.finally(() => exited = true);
  return {
    child,
    log: () => text,
    done: async () => {
      // Never hang a test on an agent that does not stop: kill it, and
      // let the caller's assertions on the exit fail.
      const timer = setTimeout(() => {
        text += "\n[test] agent did not exit within 150 s: SIGKILL\n";
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 150_000);
      const s = await status;
      clearTimeout(timer);
      // A leftover grandchild could hold stderr open: don't wait forever.
      await Promise.race([drained, new Promise((r) => setTimeout(r, 5000))]);
      return { code: s.code, signal: s.signal, log: text };
    },
    kill: async () => {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
      await status;
    },
  };
}

/** A `/bin/sh -c` payload JDL whose processes carry `mark`. */
export function shellJdl(
  script: string,
  mark: string,
  extra: Record<string, string | number> = {},
): string {
  const lines = [
    `Executable = "/bin/sh";`,
    `Arguments = "-c '${script}' sp${mark}";`,
  ];
  if (!("TTL" in extra)) lines.push("TTL = 300;");
  for (const [k, v] of Object.entries(extra)) {
    lines.push(`${k} = ${typeof v === "number" ? v : JSON.stringify(v)};`);
  }
  return lines.join("\n") + "\n";
}

/** Whether any sandbox is left in the agent's work root. */
export async function sandboxesLeft(workRoot: string): Promise<string[]> {
  const left: string[] = [];
  try {
    for await (const e of Deno.readDir(workRoot)) {
      if (e.name.startsWith("job-")) left.push(e.name);
    }
  } catch { /* no work root: nothing left */ }
  return left;
}
