/**
 * Input staging: download every `InputFile`/`InputData` LFN into the
 * sandbox with the job token, verifying size and sha-256.
 *
 * @module
 */
import { sha256 } from "./_sha256_stream.ts";
import type { BrokerClient } from "../client/broker_client.ts";
import type { JobDescription } from "../jdl/mod.ts";

/** Thrown when an input cannot be staged. */
export class StagingError extends Error {
  /**
   * @param message names the input (LFN) and why it failed; it lands in the
   * job's trace with ERROR_IB.
   */
  constructor(message: string) {
    super(message);
    this.name = "StagingError";
  }
}

/** Local name of an input: its last LFN segment. */
export function inputName(lfn: string): string {
  const name = lfn.slice(lfn.lastIndexOf("/") + 1);
  if (!name || name === "." || name === "..") {
    throw new StagingError(`input ${lfn} has no usable file name`);
  }
  return name;
}

/**
 * Downloads all inputs of `jdl` into `workdir`, each under its last LFN
 * segment, checking size and SHA-256; throws {@link StagingError}.
 *
 * @example
 * ```ts ignore
 * import { BrokerClient } from "../client/broker_client.ts";
 * import { stageInputs } from "./stage_inputs.ts";
 * const broker = new BrokerClient(start.broker, start.token);
 * await stageInputs(broker, parseJdl(start.jdl), "/workdir", console.error);
 * ```
 */
export async function stageInputs(
  broker: BrokerClient,
  jdl: JobDescription,
  workdir: string,
  log: (line: string) => void,
): Promise<void> {
  const seen = new Set<string>();
  for (const lfn of [...jdl.inputFile, ...jdl.inputData]) {
    const name = inputName(lfn);
    if (seen.has(name)) {
      throw new StagingError(`two inputs would both be named ${name}`);
    }
    seen.add(name);
    const res = await broker.download(lfn);
    const expect = res.headers.get("x-sha256");
    const path = `${workdir}/${name}`;
    const file = await Deno.open(path, {
      write: true,
      createNew: true,
      mode: 0o644,
    });
    const hash = await sha256();
    let size = 0;
    try {
      for await (const chunk of res.body!) {
        hash.update(chunk);
        size += chunk.byteLength;
        let off = 0;
        while (off < chunk.byteLength) {
          off += await file.write(chunk.subarray(off));
        }
      }
    } finally {
      file.close();
    }
    const sha = hash.hex();
    if (expect && sha !== expect) {
      throw new StagingError(
        `${lfn}: downloaded data hashes to ${sha}, expected ${expect}`,
      );
    }
    log(`staged ${lfn} → ${name} (${size} bytes)`);
  }
}
