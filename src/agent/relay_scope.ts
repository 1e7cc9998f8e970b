/**
 * What the agent relays for a wrapper (docs/ARCHITECTURE.md, "The relay"):
 * only calls the broker's authorization table lets the JOB role make, and
 * of those with a job in the path only the wrapper's own job. Taking the
 * rule from the table itself means an endpoint added for jobs is relayed
 * without touching the relay, and a USER or agent endpoint never is.
 *
 * @module
 */
import { findRoute } from "../broker/routes.ts";
import type { RelayHeaders } from "../protocol/relay_messages.ts";
import { RELAYED_JOB_HEADER } from "../broker/relayed_job.ts";

/** Longest path (with query) relayed. */
export const MAX_RELAY_PATH = 4096;
/** Most request headers relayed, and their total size in bytes. */
export const MAX_RELAY_HEADERS = 64;
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Headers never relayed: connection-level ones (the agent's own
 * connection decides them) and any that could speak for someone else.
 */
const DROPPED = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "authorization",
  "cookie",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  // Set by the agent alone: the job it acts for (src/broker/relayed_job.ts).
  RELAYED_JOB_HEADER,
]);

/** An agent-side refusal: HTTP status, reason and one line. */
export interface RelayRefusal {
  /** 400 malformed, 403 not the job's to make. */
  status: number;
  /** Machine-readable reason. */
  reason: string;
  /** Why, in words. */
  message: string;
}

/**
 * Checks one relayed call for job `jobId`; returns the URL to call below
 * `broker` (normalised exactly as the broker will see it), or a refusal.
 *
 * @example
 * ```ts
 * import { relayTarget } from "./relay_scope.ts";
 * relayTarget("https://b:1", "7", "POST", "/api/v1/jobs/7/status"); // a URL
 * relayTarget("https://b:1", "7", "POST", "/api/v1/jobs/8/status").status; // 403
 * ```
 */
export function relayTarget(
  broker: string,
  jobId: string,
  method: string,
  path: string,
): URL | RelayRefusal {
  const bad = (message: string): RelayRefusal => ({
    status: 400,
    reason: "relay_bad_request",
    message,
  });
  if (
    typeof path !== "string" || !path.startsWith("/") ||
    path.startsWith("//") || path.length > MAX_RELAY_PATH ||
    // deno-lint-ignore no-control-regex
    /[\x00-\x20\x7f\\#]/.test(path)
  ) {
    return bad(
      `relay: path ${
        JSON.stringify(String(path).slice(0, 100))
      } is not an absolute path below the broker`,
    );
  }
  if (typeof method !== "string" || !/^[A-Z]{1,16}$/.test(method)) {
    return bad(
      `relay: method ${JSON.stringify(String(method).slice(0, 20))} is not one`,
    );
  }
  const base = new URL(broker);
  const url = new URL(path, base);
  if (url.origin !== base.origin) {
    return bad(`relay: ${path} leaves the broker`);
  }
  let found;
  try {
    found = findRoute(method, url.pathname);
  } catch (e) {
    return bad(`relay: ${(e as Error).message}`);
  }
  const refuse = (message: string): RelayRefusal => ({
    status: 403,
    reason: "relay_refused",
    message,
  });
  if (found === undefined || found === "method") {
    return refuse(
      `relay: ${method} ${url.pathname} is no broker endpoint a job may call`,
    );
  }
  if (found.route.allow.JOB === undefined) {
    return refuse(
      `relay: ${method} ${found.route.path} is not a job endpoint (allowed: ${
        Object.keys(found.route.allow).join(", ")
      }); a wrapper may relay only its job's own calls`,
    );
  }
  if (found.id !== undefined && found.id !== jobId) {
    return refuse(
      `relay: job ${jobId} may not relay calls for job ${found.id}`,
    );
  }
  return url;
}

/**
 * The request headers to forward, or a refusal when there are too many
 * or they are too large. Connection-level and credential headers are
 * dropped: the broker authenticates the job by the job token on the
 * agent's connection, never by anything the wrapper writes.
 */
export function relayHeaders(
  headers: RelayHeaders,
): Headers | RelayRefusal {
  if (!Array.isArray(headers) || headers.length > MAX_RELAY_HEADERS) {
    return {
      status: 400,
      reason: "relay_bad_request",
      message: `relay: expected at most ${MAX_RELAY_HEADERS} headers`,
    };
  }
  const out = new Headers();
  let size = 0;
  try {
    for (const h of headers) {
      if (!Array.isArray(h) || h.length !== 2) throw new TypeError("bad pair");
      const [name, value] = h.map(String);
      size += name.length + value.length;
      if (DROPPED.has(name.toLowerCase())) continue;
      out.append(name, value);
    }
  } catch (e) {
    return {
      status: 400,
      reason: "relay_bad_request",
      message: `relay: bad header: ${(e as Error).message}`,
    };
  }
  if (size > MAX_HEADER_BYTES) {
    return {
      status: 400,
      reason: "relay_bad_request",
      message: `relay: headers exceed ${MAX_HEADER_BYTES} bytes`,
    };
  }
  return out;
}

/** Response headers the wrapper gets: all but connection-level ones. */
export function responseHeaders(h: Headers): RelayHeaders {
  return [...h.entries()].filter(([k]) => !DROPPED.has(k));
}
