/**
 * The steps of a batch (`POST /api/v1/jobs/:id/batch`, served by
 * `src/broker/batch.ts`): several of one job's reports in one round trip,
 * each step standing for the single request named by its `op`.
 *
 * @module
 */
import { encodeBase64 } from "./base64.ts";

/** One step of a batch. */
export type BatchStep =
  | {
    /** `status`, `heartbeat` or `log` (live log append) of the job. */
    op: "status" | "heartbeat" | "log";
    /** The JSON body of that request. */
    body: Record<string, unknown>;
    /** Go on with the next step even when this one fails. */
    bestEffort?: boolean;
  }
  | {
    /** `PUT /api/v1/files/<lfn>`. */
    op: "file";
    /** Where the file goes. */
    lfn: string;
    /** SHA-256 of the bytes, lowercase hex (the broker checks it). */
    sha256: string;
    /** The bytes, base64. */
    data: string;
    /** Go on with the next step even when this one fails. */
    bestEffort?: boolean;
  };

/** Most steps in one batch. */
export const MAX_BATCH_STEPS = 32;

/** Largest batch body, bytes (inline files are base64). */
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;

/**
 * Largest file a client inlines into a batch, bytes; a bigger one goes as
 * a streamed `PUT` of its own.
 */
export const MAX_INLINE_FILE_BYTES = 256 * 1024;

/** The path of the batch endpoint of job `jobId`. */
export function batchPath(jobId: string): string {
  return `/api/v1/jobs/${jobId}/batch`;
}

/** A `file` step for `bytes` at `lfn`. */
export async function fileStep(
  lfn: string,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<BatchStep> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return { op: "file", lfn, sha256, data: encodeBase64(bytes) };
}
