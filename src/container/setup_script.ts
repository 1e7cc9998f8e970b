/**
 * The job environment comes from one setup script in the software
 * directory (`etc/setup.sh`), sourced the same way for every runtime.
 *
 * The launch tells the wrapper where the script is (as the container sees
 * it) in {@link SETUP_ENV}. The wrapper checks the script once before the
 * job starts ({@link checkSetup}: a broken script is a startup failure,
 * ERROR_A, with the script's own error as the reason) and runs the payload
 * and the validation command through it ({@link setupArgv}), so whatever
 * the script exports is the payload's environment on top of the wrapper's
 * clean one. The script finds its software dir in `$SPLITPILOT_SOFTWARE`.
 * `/bin/sh` is therefore on the wrapper's `--allow-run` list when a setup
 * script is configured.
 *
 * @module
 */

/** Environment variable carrying the script path to the wrapper. */
export const SETUP_ENV = "SPLITPILOT_SETUP";

/** Environment variable carrying the software dir path to the wrapper. */
export const SOFTWARE_ENV = "SPLITPILOT_SOFTWARE";

/** The shell that sources the script. */
export const SETUP_SHELL = "/bin/sh";

/** Exit code of {@link setupArgv} when sourcing fails. */
export const SETUP_FAILED_EXIT = 126;

/**
 * Run before sourcing: the script sees its software dir as
 * `$SPLITPILOT_SOFTWARE` (`<software>/etc/setup.sh` → `<software>`).
 */
const PRELUDE =
  "d=${0%/*}; SPLITPILOT_SOFTWARE=${d%/*}; export SPLITPILOT_SOFTWARE; ";

/** `argv` run with the environment `setup` exports. */
export function setupArgv(setup: string, argv: string[]): string[] {
  return [
    SETUP_SHELL,
    "-c",
    `${PRELUDE}. "$0" || { echo "setup script $0 failed" >&2; exit ${SETUP_FAILED_EXIT}; }; exec "$@"`,
    setup,
    ...argv,
  ];
}

/** Options of {@link checkSetup}. */
export interface CheckSetupOptions {
  /** Environment to source it in. @default {} */
  env?: Record<string, string>;
  /** Working directory. @default the current one */
  cwd?: string;
  /** Give up after this long, ms. @default 30000 */
  timeoutMs?: number;
}

/**
 * Sources `setup` in a throwaway shell. Returns `undefined` when it works,
 * else one line saying why (exit code and the script's last stderr lines).
 */
export async function checkSetup(
  setup: string,
  opts: CheckSetupOptions = {},
): Promise<string | undefined> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(SETUP_SHELL, {
      args: ["-c", `${PRELUDE}. "$0"`, setup],
      env: opts.env ?? {},
      clearEnv: true,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    return `setup script ${setup}: cannot start ${SETUP_SHELL}: ${
      (e as Error).message
    }`;
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, opts.timeoutMs ?? 30000);
  const [status, err] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  if (status.success) return undefined;
  const tail = err.trim().split("\n").slice(-3).join(" | ");
  const how = status.signal
    ? `was killed by ${status.signal}`
    : `failed with exit ${status.code}`;
  return `setup script ${setup} ${how}${tail ? `: ${tail}` : ""}`;
}
