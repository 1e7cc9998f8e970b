/**
 * The one interface a pilot factory needs from a batch system: submit a
 * startup script, list the pilots it submitted, cancel one. Slurm is the
 * implementation run for real (src/factory/slurm.ts); HTCondor and PBS are
 * written from their documented command lines.
 *
 * @module
 */

/** Where a pilot is in the batch system. */
export type PilotState =
  | "queued" // waiting for a slot
  | "running" // started (the agent may be matching or running jobs)
  | "finished" // ended with exit code 0
  | "failed" // ended otherwise: non-zero exit, killed, node failure, …
  | "cancelled"; // cancelled (by the factory, an admin or preemption)

/** One pilot as the batch system reports it. */
export interface PilotStatus {
  /** Batch job ID. */
  id: string;
  /** Its state. */
  state: PilotState;
  /** The batch system's own state word (e.g. Slurm's `TIMEOUT`). */
  raw: string;
  /** The batch system's reason, if it gives one. */
  reason?: string;
}

/** What a factory asks for each pilot. */
export interface PilotRequest {
  /** Path of the startup script to submit. */
  script: string;
  /** Job name: every pilot of one factory has the same one. */
  name: string;
  /** Cores of the slot. */
  cores: number;
  /** Wall-clock limit, s. */
  ttlSeconds: number;
  /** Queue or partition. */
  queue?: string;
  /** Directory for the batch system's stdout/stderr files. */
  logDir: string;
}

/** A batch system, as a factory drives it. */
export interface BatchSystem {
  /** Its name (`slurm`, `htcondor`, `pbs`). */
  readonly name: string;
  /** Submits one pilot; returns its batch job ID. */
  submit(req: PilotRequest): Promise<string>;
  /**
   * The pilots named `name` the batch system still knows, queued, running
   * or recently ended. A pilot it has forgotten is absent.
   */
  status(name: string): Promise<PilotStatus[]>;
  /** Cancels a pilot (a no-op when it has already ended). */
  cancel(id: string): Promise<void>;
}

/** A failed batch command: one line with the command and what it said. */
export class BatchError extends Error {
  /** Creates a BatchError for `argv`, which exited with `code` and said `stderr`. */
  constructor(argv: readonly string[], code: number, stderr: string) {
    super(
      `${argv[0]} exited with code ${code}: ${
        stderr.trim().split("\n").at(-1) ?? ""
      }`,
    );
    this.name = "BatchError";
  }
}

/** Runs a batch command; returns its stdout, throws {@link BatchError}. */
export async function runBatchCommand(
  argv: readonly string[],
  env?: Record<string, string>,
): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new BatchError(argv, 127, (e as Error).message);
  }
  const dec = new TextDecoder();
  if (out.code !== 0) {
    throw new BatchError(argv, out.code, dec.decode(out.stderr));
  }
  return dec.decode(out.stdout);
}
