/**
 * `splitpilot agent`: starts a JobAgent with the permission table's flags
 * (the agent row of `src/permissions/table.ts`): no `-A`, no hand-built
 * flags. `--print-command` prints the exact argv instead of running it.
 *
 * ```sh
 * splitpilot agent --broker https://localhost:8443 --token ~/.splitpilot/agent --work /tmp/work
 * splitpilot agent --print-command --token agent --work work --containers none
 * ```
 *
 * Every other flag (`--cores`, `--ttl`, `--max-empty`, …; see
 * `agent.ts --help`) goes to the agent unchanged. SIGTERM and SIGINT are
 * passed on (the agent then preempts its jobs). The exit code is the
 * agent's.
 *
 * @module
 */
import { agentCommand, agentContext } from "../launch/role_process.ts";
import { agentPermissions, type PermissionSet } from "../permissions/table.ts";
import { agentAuditFile, agentAuditSummary } from "./agent_audit.ts";
import { parseArgs } from "@std/cli";
import { AGENT_USAGE } from "../agent/main.ts";
import { parseRuntimeName } from "../container/select.ts";
import {
  type CliIo,
  CONSOLE_IO,
  EXIT,
  fail,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import { absolute, loadSettings } from "./config.ts";

/** Usage text. */
export const AGENT_CMD_USAGE =
  `usage: splitpilot agent --token DIR --work DIR [--broker URL] [--containers C]
       [--software-dir DIR] [--print-command] [AGENT FLAGS...]
  --token DIR       the agent's JOB_AGENT token (cert.pem, key.pem, ca.pem)
  --work DIR        work root: job sandboxes are created below it
  --broker URL      default: $SPLITPILOT_BROKER, else the config file
  --print-command   print the exact command (deno argv) and exit
  AGENT FLAGS go to the agent unchanged:
${AGENT_USAGE.split("\n").slice(1).map((l) => `  ${l.trim()}`).join("\n")}
examples:
  splitpilot agent --token ~/.splitpilot/agent --work /tmp/sp-work --max-empty 5
  splitpilot agent --print-command --token agent --work work --containers none`;

const OWN = new Set([
  "broker",
  "token",
  "work",
  "containers",
  "software-dir",
  "print-command",
  "help",
  "h",
  "json",
]);

/** A variable's value, or undefined when it is unset or not ours to read. */
function envIfGranted(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)
    ? arg
    : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Runs `agent <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  const json = wantsJson(args);
  let cmd;
  let audit: { file?: string; why?: string; table?: PermissionSet } = {};
  try {
    const passOn: string[] = [];
    const f = parseArgs(args, {
      string: ["broker", "token", "work", "containers", "software-dir"],
      boolean: ["print-command", "help", "json"],
      alias: { h: "help" },
      unknown: (arg, key, value) => {
        if (key === undefined) {
          throw new UsageError(`unexpected argument "${arg}"`);
        }
        if (OWN.has(key)) return true;
        passOn.push(
          arg.includes("=") || value === true ? arg : `${arg}=${value}`,
        );
        return false;
      },
    });
    if (f.help) {
      io.out(AGENT_CMD_USAGE);
      return EXIT.ok;
    }
    for (const name of ["token", "work"]) {
      if (!f[name]) throw new UsageError(`--${name} DIR is required`);
    }
    const env = (n: string) => Deno.env.get(n) || undefined;
    const settings = await loadSettings({ broker: f.broker }, env);
    const broker = settings.broker.value?.join(",");
    if (!broker) {
      throw new UsageError(
        "no broker: pass --broker https://HOST:PORT, set SPLITPILOT_BROKER or put it in the config file",
      );
    }
    const cwd = Deno.cwd();
    const cmdOpts = {
      broker,
      tokenDir: absolute(f.token, cwd, env),
      workRoot: absolute(f.work, cwd, env),
      containers: parseRuntimeName(
        f.containers ?? env("USE_CONTAINERS") ?? "auto",
      ),
      softwareDir: f["software-dir"]
        ? absolute(f["software-dir"], cwd, env)
        : undefined,
      extraArgs: [
        ...(f["software-dir"]
          ? ["--software-dir", absolute(f["software-dir"], cwd, env)]
          : []),
        ...passOn,
      ],
    };
    cmd = agentCommand(cmdOpts);
    // The agent under audit too, where cheap (agent_audit.ts).
    audit = {
      ...agentAuditFile(cmdOpts.workRoot, {
        off: passOn.includes("--audit=off"),
        inherited: envIfGranted("DENO_AUDIT_PERMISSIONS"),
      }),
      table: agentPermissions(agentContext(cmdOpts)),
    };
    if (f["print-command"]) {
      io.out(
        json
          ? JSON.stringify({ argv: [cmd.cmd, ...cmd.args] })
          : [cmd.cmd, ...cmd.args].map(shellQuote).join(" "),
      );
      return EXIT.ok;
    }
  } catch (e) {
    return fail(io, e, { usage: AGENT_CMD_USAGE, json });
  }
  const child = new Deno.Command(cmd.cmd, {
    args: cmd.args,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
    env: audit.file ? { DENO_AUDIT_PERMISSIONS: audit.file } : undefined,
  }).spawn();
  const forward = (sig: Deno.Signal) => () => {
    try {
      child.kill(sig);
    } catch { /* gone */ }
  };
  const onTerm = forward("SIGTERM");
  const onInt = forward("SIGINT");
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  try {
    const code = (await child.status).code;
    if (audit.file && audit.table) {
      const r = await agentAuditSummary(audit.file, audit.table).catch((e) => ({
        line: `agent audit: cannot read ${audit.file}: ${(e as Error).message}`,
      }));
      io.err(r.line);
    } else if (audit.why) io.err(`agent audit: ${audit.why}`);
    return code;
  } finally {
    Deno.removeSignalListener("SIGTERM", onTerm);
    Deno.removeSignalListener("SIGINT", onInt);
  }
}
