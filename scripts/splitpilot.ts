/**
 * The installed `splitpilot` command (and `deno task splitpilot`).
 *
 * It reads the configuration, then starts the dispatcher
 * (`src/cli/main.ts`) as a second Deno process whose permission flags
 * allow only what the command needs (see `src/cli/launch_plan.ts`): net to
 * the configured brokers, read and write to the token dir, the files named
 * on the command line and the output dir. This process itself only reads
 * the config and starts that one program.
 *
 * ```sh
 * deno install -g -f -n splitpilot --config deno.json \
 *   --allow-read --allow-env --allow-run scripts/splitpilot.ts
 * splitpilot --help
 * ```
 *
 * @module
 */
import { launchPlan } from "../src/cli/launch_plan.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Runs `splitpilot ARGS` through the dispatcher; returns its exit code. */
export async function launch(args: string[]): Promise<number> {
  const env = (n: string) => Deno.env.get(n) || undefined;
  // `deno task` runs in the repository; INIT_CWD is where the user was.
  const cwd = env("INIT_CWD") ?? Deno.cwd();
  const plan = await launchPlan(args, env, {
    cwd,
    deno: Deno.execPath(),
    root: ROOT,
  });
  if (env("SPLITPILOT_PRINT_LAUNCH")) {
    console.error([plan.cmd, ...plan.args].join(" "));
  }
  const child = new Deno.Command(plan.cmd, {
    args: plan.args,
    cwd: plan.cwd,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Ctrl-C reaches the whole process group; a SIGTERM sent to us alone is
  // passed on, so `kill PID` stops a broker or an agent cleanly.
  const forward = (sig: Deno.Signal) => () => {
    try {
      child.kill(sig);
    } catch { /* already gone */ }
  };
  const onTerm = forward("SIGTERM");
  const onInt = forward("SIGINT");
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onInt);
  const status = await child.status;
  Deno.removeSignalListener("SIGTERM", onTerm);
  Deno.removeSignalListener("SIGINT", onInt);
  return status.signal ? 128 + (SIGNALS[status.signal] ?? 0) : status.code;
}

const SIGNALS: Partial<Record<Deno.Signal, number>> = {
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
};

if (import.meta.main) {
  Deno.exit(await launch(Deno.args));
}
