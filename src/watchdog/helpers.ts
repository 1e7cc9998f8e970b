/**
 * The agent's helper programs: the only programs besides the container
 * launcher on the agent's `--allow-run` list. Each is a small read-only
 * sh script with one fixed job, called by its absolute path (Deno checks
 * that path), which never takes a command and never evaluates its input:
 *
 * | helper | job |
 * |---|---|
 * | `splitpilot-procfs` | the watchdog's procfs sampler loop (Deno wants `--allow-all` for any read below `/proc`), and the dead man's switch for guarded processes |
 * | `splitpilot-kill` | signals processes and groups already found to be the job's, after checking start time (and pid namespace) again |
 * | `splitpilot-du` | the sandbox size and its core files |
 *
 * They live in `src/watchdog/helpers/` in the source tree, and in
 * `W/rt/agent/helpers/` of a built agent, next to its bundle, where the
 * artefact's header checks their hashes before each start. The path is
 * derived from this module's URL, which is the bundle's in a built agent.
 *
 * @example
 * ```ts
 * import { helperPath } from "./helpers.ts";
 * const kill = helperPath("kill"); // …/helpers/splitpilot-kill
 * ```
 *
 * @module
 */

/** The helpers by job. */
export const HELPERS = {
  procfs: "splitpilot-procfs",
  kill: "splitpilot-kill",
  du: "splitpilot-du",
} as const;

/** A helper's job. */
export type HelperName = keyof typeof HELPERS;

/** Directory name of the helpers, next to this module (or the bundle). */
export const HELPER_DIR = "helpers";

/** The helpers' directory: `helpers/` next to this module or the bundle. */
export function helperDir(): string {
  return decodeURIComponent(
    new URL(`./${HELPER_DIR}/`, import.meta.url).pathname,
  ).replace(/\/$/, "");
}

/** Absolute path of one helper (in `dir`, default {@link helperDir}). */
export function helperPath(name: HelperName, dir = helperDir()): string {
  return `${dir}/${HELPERS[name]}`;
}

/** Every helper's absolute path: the agent's `--allow-run` entries. */
export function agentHelpers(dir = helperDir()): string[] {
  return (Object.keys(HELPERS) as HelperName[]).map((n) => helperPath(n, dir));
}

/** The source files of the helpers, for the build: name → absolute path. */
export function helperSources(): Record<string, string> {
  const dir = helperDir();
  return Object.fromEntries(
    Object.values(HELPERS).map((f) => [f, `${dir}/${f}`]),
  );
}
