/**
 * The pilot factory's command line, permissions from the table's factory
 * row: `deno run <flags> scripts/factory.ts …`.
 *
 * @example
 * ```ts
 * import { factoryCommand } from "./factory_process.ts";
 * const { cmd, args } = factoryCommand({ args: ["--site", "CERN", "--slurm",
 *   "--broker", "https://broker.example.org:8443", "--token", "/etc/sp/host",
 *   "--work", "/var/lib/sp-factory"], batchBin: "/usr/bin" });
 * ```
 *
 * @module
 */
import { factoryPermissions, toDenoFlags } from "../permissions/table.ts";
import { parseFactoryFlags } from "../factory/main.ts";
import { repoRoot } from "./role_process.ts";
import type { CommandLine } from "./role_process.ts";

/** Each batch system's commands. */
export const BATCH_COMMANDS = {
  slurm: ["sbatch", "squeue", "scancel"],
  htcondor: ["condor_submit", "condor_q", "condor_rm"],
  pbs: ["qsub", "qstat", "qdel"],
} as const;

function absolute(path: string): string {
  const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  return path.startsWith("/") ? path : `${cwd}/${path}`;
}

/** The directory on PATH holding `program`, if any. */
export function findOnPath(program: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return dir;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * The factory's command line for `args` (its own flags). Relative paths
 * are made absolute; `batchBin` (default: where the submit command is on
 * PATH) fixes the batch commands it may run.
 */
export function factoryCommand(
  opts: { args: string[]; batchBin?: string },
): CommandLine {
  const flags = parseFactoryFlags(opts.args);
  if (flags === "help") {
    return {
      cmd: Deno.execPath(),
      args: ["run", `${repoRoot()}/scripts/factory.ts`, "--help"],
    };
  }
  const commands = BATCH_COMMANDS[flags.batch];
  const bin = opts.batchBin ?? (flags.raw["batch-bin"] as string | undefined) ??
    findOnPath(commands[0]);
  if (!bin) {
    throw new TypeError(
      `${
        commands[0]
      } is not on PATH: install the ${flags.batch} client commands or pass --batch-bin DIR`,
    );
  }
  const u = new URL(flags.broker);
  const tokenDir = absolute(flags.token);
  const workDir = absolute(flags.work);
  const perms = toDenoFlags(factoryPermissions({
    broker: `${u.hostname.replace(/^\[|\]$/g, "")}:${u.port || "443"}`,
    tokenDir,
    workDir,
    batchCommands: commands.map((c) => `${bin}/${c}`),
  }));
  // Paths rewritten to absolute ones; everything else as given.
  const rest: string[] = [];
  for (let i = 0; i < opts.args.length; i++) {
    const a = opts.args[i];
    if ((a === "--token" || a === "--work") && i + 1 < opts.args.length) {
      rest.push(a, absolute(opts.args[++i]));
    } else if (a.startsWith("--token=")) {
      rest.push(`--token=${tokenDir}`);
    } else if (a.startsWith("--work=")) {
      rest.push(`--work=${workDir}`);
    } else if (a !== "--print-command" && !a.startsWith("--batch-bin")) {
      rest.push(a);
    } else if (a === "--batch-bin") {
      i++;
    }
  }
  return {
    cmd: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      ...perms,
      `${repoRoot()}/scripts/factory.ts`,
      ...rest,
      ...(flags.raw.token ? [] : ["--token", tokenDir]),
      ...(flags.raw.broker ? [] : ["--broker", flags.broker]),
      "--batch-bin",
      bin,
    ],
  };
}
