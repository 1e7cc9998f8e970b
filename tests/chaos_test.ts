/**
 * The chaos suite, small: 60 jobs on two bwrap agents with 15 SIGKILLs
 * over agents, wrappers, payloads and the broker; every count must be 0.
 * `deno task chaos --jobs 1000 --kills 100` is the full run (README).
 */
import { assertEquals } from "@std/assert";
import { needs } from "./_grid.ts";
import { runChaos } from "../scripts/chaos.ts";
import { formatCounts } from "../scripts/_chaos_counts.ts";

Deno.test({
  name:
    "chaos: 60 jobs, 15 SIGKILLs over agents, wrappers, payloads and the broker lose nothing and run nothing twice",
  ignore: needs("bwrap"),
  fn: async () => {
    const lines: string[] = [];
    const r = await runChaos({
      jobs: 60,
      kills: 15,
      seed: 13,
      log: (l) => lines.push(l),
    });
    const zero = Object.fromEntries(
      Object.keys(r.counts).map((k) => [k, 0]),
    );
    assertEquals(
      r.counts,
      zero as unknown as typeof r.counts,
      `${formatCounts(r.counts)}\n${lines.join("\n")}`,
    );
    // The kills really happened, and over more than one kind of target.
    const kinds = Object.values(r.kills).filter((n) => n > 0).length;
    assertEquals(
      kinds >= 2 && Object.values(r.kills).reduce((a, b) => a + b) === 15,
      true,
      JSON.stringify(r.kills),
    );
  },
});
