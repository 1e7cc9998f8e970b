/**
 * Calls an agent relays for its wrapper (docs/ARCHITECTURE.md, "The
 * relay"): they arrive on the agent's own mutual-TLS connection, with the
 * job's token certificate in {@link RELAYED_JOB_HEADER}, and are served as
 * that job's, under the same authorization table and the same job-token
 * checks as if the wrapper had connected itself.
 *
 * The certificate is accepted only from a JOB_AGENT peer, only when it is
 * a valid JOB token of our CA, and only for a job that this very agent
 * certificate matched. The agent holds the job token since the match, so
 * this lends it nothing new; a certificate copied elsewhere is useless
 * without that agent's key, and the wrapper, which never sees the token,
 * cannot set the header (the agent drops it from what it relays).
 *
 * @module
 */
import type { TokenIdentity, TokenVerifier } from "../token/mod.ts";
import { badRequest, forbidden, unauthenticated } from "./errors.ts";
import type { JobStore } from "./store.ts";

/** Header with the base64 DER of the job token an agent relays for. */
export const RELAYED_JOB_HEADER = "x-splitpilot-relayed-job";

/** Longest header value accepted (a certificate is ~1 KiB of base64). */
const MAX_HEADER = 8192;

/**
 * The identity `req` acts as: the peer's own, or the relayed job's.
 *
 * @throws {HttpError} 400 for a malformed header, 401 for a refused job
 * certificate, 403 when the peer may not act for that job.
 */
export async function actingIdentity(
  req: Request,
  peer: TokenIdentity,
  verifier: TokenVerifier,
  store: Pick<JobStore, "get">,
): Promise<TokenIdentity> {
  const value = req.headers.get(RELAYED_JOB_HEADER);
  if (value === null) return peer;
  if (peer.role !== "JOB_AGENT") {
    throw forbidden(
      "relay_not_agent",
      `${peer.role} ${peer.subject} may not act for a job (${RELAYED_JOB_HEADER} is for agents relaying their wrappers' calls)`,
    );
  }
  let der: Uint8Array;
  try {
    if (value.length > MAX_HEADER) throw new RangeError("too long");
    der = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  } catch (e) {
    throw badRequest(
      "bad_relayed_job",
      `${RELAYED_JOB_HEADER}: expected the base64 DER of a job token (${
        (e as Error).message
      })`,
    );
  }
  let job: TokenIdentity;
  try {
    job = await verifier.verify(der);
  } catch (e) {
    throw unauthenticated(
      (e as { reason?: string }).reason ?? "invalid",
      `relayed job token refused: ${(e as Error).message}`,
    );
  }
  if (job.role !== "JOB" || job.jobId === undefined) {
    throw unauthenticated(
      "relay_not_job",
      `relayed token is a ${job.role} token, expected a JOB token`,
    );
  }
  const record = await store.get(job.jobId);
  if (!record || record.agent !== peer.fingerprint) {
    throw forbidden(
      "wrong_object",
      `JOB_AGENT ${peer.subject} did not match job ${job.jobId} and may not act for it`,
    );
  }
  return job;
}
