/**
 * `POST /api/v1/jobs/:id/batch`: several of one job's reports in one round
 * trip (README "Performance"). A short job used to cost a request per state
 * report, per output file and per log flush; a batch carries them as
 * steps, and the broker runs each step as the single request it stands
 * for: the same route, authorization, validation and store writes, in the
 * order given. Nothing is new about what a step may do; only the number
 * of TLS round trips changes.
 *
 * Steps (all about the job named in the URL):
 *
 * | op | stands for |
 * |---|---|
 * | `status` | `POST /api/v1/jobs/:id/status` with `body` |
 * | `heartbeat` | `POST /api/v1/jobs/:id/heartbeat` with `body` |
 * | `log` | `POST /api/v1/jobs/:id/log` with `body` |
 * | `file` | `PUT /api/v1/files/<lfn>` of `data` (base64), `x-sha256: sha256` |
 *
 * The batch stops at the first step that fails, unless that step says
 * `bestEffort`, and answers with that step's status and error body plus
 * `step` (its index): a client handles it exactly as the failure of the
 * single request. Steps before it stay applied, as separate requests
 * would; resending the whole batch is safe because every step is (a state
 * report its attempt already made is acknowledged again, a file is
 * written again with the same bytes).
 *
 * @module
 */
import { decodeBase64 } from "../protocol/base64.ts";
import {
  type BatchStep,
  MAX_BATCH_BYTES,
  MAX_BATCH_STEPS,
} from "../protocol/batch.ts";
import { badRequest, errorResponse, HttpError, json } from "./errors.ts";
import { RELAYED_JOB_HEADER } from "./relayed_job.ts";

const ROUTE: Record<string, string> = {
  status: "status",
  heartbeat: "heartbeat",
  log: "log",
};

/**
 * Runs the batch in `req` for job `jobId`, each step through `handle`
 * (the broker core's own entry, with the caller's certificate).
 */
export async function runBatch(
  req: Request,
  jobId: string,
  handle: (sub: Request) => Promise<Response>,
): Promise<Response> {
  const steps = parseSteps(await readBody(req));
  const origin = new URL(req.url).origin;
  // Each step acts as the batch's caller: an agent relaying its wrapper's
  // batch relays every step for the same job (relayed_job.ts).
  const relayed = req.headers.get(RELAYED_JOB_HEADER);
  const carry: Record<string, string> = relayed === null
    ? {}
    : { [RELAYED_JOB_HEADER]: relayed };
  const results: { status: number; body?: unknown }[] = [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    let sub: Request;
    if (s.op === "file") {
      const path = s.lfn.split("/").map(encodeURIComponent).join("/");
      sub = new Request(`${origin}/api/v1/files${path}`, {
        method: "PUT",
        headers: {
          ...carry,
          "x-sha256": s.sha256,
          "content-type": "application/octet-stream",
        },
        body: decodeBase64(s.data),
      });
    } else {
      sub = new Request(`${origin}/api/v1/jobs/${jobId}/${ROUTE[s.op]}`, {
        method: "POST",
        headers: { ...carry, "content-type": "application/json" },
        body: JSON.stringify(s.body),
      });
    }
    let res: Response;
    try {
      res = await handle(sub);
    } catch (e) {
      res = errorResponse(e);
    }
    const body = await res.json().catch(() => undefined);
    results.push({ status: res.status, body });
    if (res.ok || s.bestEffort) continue;
    return json(
      {
        ...(typeof body === "object" && body ? body : {}),
        step: i,
        results,
      },
      res.status,
    );
  }
  return json({ results });
}

async function readBody(req: Request): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BATCH_BYTES) {
    throw new HttpError(413, "too_large", `body exceeds ${MAX_BATCH_BYTES}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    for await (const c of req.body) {
      size += c.byteLength;
      if (size > MAX_BATCH_BYTES) {
        throw new HttpError(
          413,
          "too_large",
          `body exceeds ${MAX_BATCH_BYTES} bytes`,
        );
      }
      chunks.push(c);
    }
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(all));
  } catch (e) {
    throw badRequest("bad_json", `body is not JSON: ${(e as Error).message}`);
  }
}

/** Checks the shape of a batch body; throws a 400 naming the bad step. */
export function parseSteps(body: unknown): BatchStep[] {
  const raw = (body as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(raw) || raw.length === 0) {
    throw badRequest("bad_field", `"steps" must be a non-empty list`);
  }
  if (raw.length > MAX_BATCH_STEPS) {
    throw badRequest(
      "bad_field",
      `"steps" has ${raw.length} entries; at most ${MAX_BATCH_STEPS}`,
    );
  }
  return raw.map((s, i) => {
    const bad = (what: string) =>
      badRequest("bad_field", `steps[${i}]: ${what}`);
    if (typeof s !== "object" || s === null) throw bad("expected an object");
    const r = s as Record<string, unknown>;
    const bestEffort = r.bestEffort === true;
    if (r.op === "file") {
      if (typeof r.lfn !== "string" || !r.lfn.startsWith("/")) {
        throw bad(`"lfn" must be an absolute LFN`);
      }
      if (typeof r.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(r.sha256)) {
        throw bad(`"sha256" must be 64 lowercase hex digits`);
      }
      if (typeof r.data !== "string" || !/^[A-Za-z0-9+/]*=*$/.test(r.data)) {
        throw bad(`"data" must be base64`);
      }
      return {
        op: "file",
        lfn: r.lfn,
        sha256: r.sha256,
        data: r.data,
        bestEffort,
      };
    }
    if (typeof r.op !== "string" || !(r.op in ROUTE)) {
      throw bad(
        `"op" must be status, heartbeat, log or file, got ${
          JSON.stringify(r.op)
        }`,
      );
    }
    if (
      typeof r.body !== "object" || r.body === null || Array.isArray(r.body)
    ) {
      throw bad(`"body" must be an object`);
    }
    return {
      op: r.op as "status" | "heartbeat" | "log",
      body: r.body as Record<string, unknown>,
      bestEffort,
    };
  });
}
