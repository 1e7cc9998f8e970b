import { assertEquals } from "@std/assert";
import { batchSlot } from "./batch_slot.ts";

const NOW = 1_800_000_000_000;

Deno.test("batch slot: Slurm's cores and end time; nothing outside Slurm", () => {
  assertEquals(batchSlot({}, NOW), {});
  assertEquals(
    batchSlot({
      SLURM_JOB_ID: "7",
      SLURM_CPUS_ON_NODE: "4",
      SLURM_JOB_END_TIME: String(NOW / 1000 + 3600),
    }, NOW),
    { source: "slurm", cores: 4, ttlSeconds: 3600 },
  );
  // SLURM_JOB_CPUS_PER_NODE as Slurm writes it for several nodes.
  assertEquals(
    batchSlot({ SLURM_JOB_ID: "7", SLURM_JOB_CPUS_PER_NODE: "8(x2)" }, NOW),
    { source: "slurm", cores: 8 },
  );
  // A slot already over, or values that do not parse, say nothing.
  assertEquals(
    batchSlot({
      SLURM_JOB_ID: "7",
      SLURM_CPUS_ON_NODE: "lots",
      SLURM_JOB_END_TIME: String(NOW / 1000 - 5),
    }, NOW),
    { source: "slurm" },
  );
});
