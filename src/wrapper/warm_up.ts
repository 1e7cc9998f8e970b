/**
 * What a pre-started wrapper does while it waits for its job
 * (`--prestarted`, see src/agent/warm_pool.ts): V8 compiles a function on
 * its first call, so the JDL parser and the TLS client set-up that every
 * job runs right after `start` are run once here, on a sample, with no
 * effect outside this process. It holds nothing of any job.
 *
 * @module
 */
import { parseJdl } from "../jdl/mod.ts";

const SAMPLE_JDL = `Executable = "/bin/true";
Arguments = "-x \\"a b\\" $HOME";
InputFile = {"LF:/u/in.txt"};
OutputFile = {"out.txt", "log*"};
OutputArchive = {"logs.zip:stdout,stderr@disk=1"};
Requirements = other.TTL > 10 && member(other.Packages, "x");
TTL = 60;
`;

/** Compiles the job's first steps; never throws. */
export function warmUp(): void {
  try {
    parseJdl(SAMPLE_JDL, { strict: false });
  } catch { /* a warm-up only */ }
  try {
    // The TLS client the job's broker calls use (no connection is made).
    Deno.createHttpClient({}).close();
  } catch { /* a warm-up only */ }
}
