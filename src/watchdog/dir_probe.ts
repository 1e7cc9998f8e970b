/**
 * The sandbox probe: its size and its core files, from the
 * `splitpilot-du` helper (one short-lived process per probe, at most every
 * few seconds per job).
 *
 * @example
 * ```ts
 * import { probeDirUsage } from "./dir_probe.ts";
 * const { diskBytes, coreFiles } = await probeDirUsage("/work/job-1");
 * ```
 *
 * @module
 */
import { parseDirUsage } from "./_dir_usage.ts";
import { helperPath } from "./helpers.ts";
import type { DirUsage } from "./sampler.ts";

/** Sizes `dir` (absolute) through the du helper. */
export async function probeDirUsage(
  dir: string,
  helper = helperPath("du"),
): Promise<DirUsage> {
  const out = await new Deno.Command(helper, {
    args: [dir],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
  }).output();
  if (!out.success) {
    throw new Error(`splitpilot-du ${dir}: exit ${out.code}`);
  }
  return parseDirUsage(new TextDecoder().decode(out.stdout));
}
