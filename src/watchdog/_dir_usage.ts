/**
 * Parsing the shell's `disk` answer: `du -sxk` then one `core <size>` line
 * per core dump found.
 *
 * @module
 */
import type { DirUsage } from "./sampler.ts";

/** Parses the answer of the `disk` request. */
export function parseDirUsage(text: string): DirUsage {
  let diskBytes = 0, coreFiles = 0, largestCoreBytes = 0;
  for (const line of text.split("\n")) {
    const du = /^(\d+)\t/.exec(line);
    if (du) diskBytes = Number(du[1]) * 1024;
    const core = /^core (\d+)$/.exec(line);
    if (core) {
      coreFiles++;
      largestCoreBytes = Math.max(largestCoreBytes, Number(core[1]));
    }
  }
  return { diskBytes, coreFiles, largestCoreBytes };
}
