/**
 * Mutual-TLS HTTPS transport for a {@link Handler}.
 *
 * `Deno.serve` cannot request client certificates, so this adapter uses
 * `node:https` (which can, under Deno): each request becomes a web
 * `Request` plus the raw DER of the peer certificate and the TLS layer's
 * verdict on it. The broker
 * core then re-checks the certificate itself (role, job, revocation).
 *
 * @module
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Handler } from "./handler.ts";
import { requestBody } from "./request_body.ts";
import {
  type ConnectionGuard,
  type ConnectionLimits,
  guardConnections,
} from "./connection_guard.ts";

/** Options of {@link serveHttps}. */
export interface HttpsOptions {
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Server certificate (HOST token) PEM. */
  certPem: string;
  /** Server key, PKCS#8 PEM. */
  keyPem: string;
  /** CA certificate PEM: clients must present a certificate it signed. */
  caPem: string;
  /** Connection caps and the accept-path self-check. */
  limits?: ConnectionLimits;
  /** One-line log sink of the connection guard. @default console.error */
  log?: (line: string) => void;
}

/** A running server. */
export interface HttpsServer {
  /** The port actually bound. */
  port: number;
  /** The base URL, e.g. `https://127.0.0.1:8443`. */
  url: string;
  /** Connection accounting and the accept-path check. */
  guard: ConnectionGuard;
  /** Stops accepting, closes connections, resolves when closed. */
  close(): Promise<void>;
}

function toRequest(req: IncomingMessage, base: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) { for (const x of v) headers.append(k, x); }
    else headers.set(k, v);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(new URL(req.url ?? "/", base), {
    method,
    headers,
    body: hasBody ? requestBody(req) : undefined,
    // @ts-ignore: needed for streaming request bodies
    duplex: "half",
  });
}

async function writeResponse(
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
) {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  // Answered before the body was read (413, 401 …): close the connection
  // rather than drain a body that may be gigabytes long.
  const unread = !req.complete && req.method !== "GET" &&
    req.method !== "HEAD";
  if (unread) {
    headers["connection"] = "close";
    res.once("finish", () => {
      req.pause();
      // Give the client a moment to read the answer before the reset.
      setTimeout(() => req.socket.destroy(), 1000);
    });
  }
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body) {
    if (!res.write(chunk)) await drained(res);
  }
  res.end();
}

/**
 * Waits for `drain`, or rejects when the client goes away. Both listeners
 * are removed whichever fires: a long download waits thousands of times.
 */
function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      res.off("drain", onDrain);
      reject(new Error("client went away"));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

/** Serves `handler` over HTTPS with mandatory client certificates. */
export async function serveHttps(
  handler: Handler,
  opts: HttpsOptions,
): Promise<HttpsServer> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const server: Server = createServer({
    key: opts.keyPem,
    cert: opts.certPem,
    ca: [opts.caPem],
    requestCert: true,
    // The handshake accepts any client certificate so that a refused one
    // gets a JSON 401 naming the reason instead of a bare TLS alert; the
    // broker core verifies the chain, validity and role itself, and
    // also sees the TLS layer's own verdict in `peer.tlsAuthorized`.
    rejectUnauthorized: false,
    minVersion: "TLSv1.2",
  }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate?.();
    const certDer = peer && peer.raw ? new Uint8Array(peer.raw) : undefined;
    const tlsAuthorized = socket.authorized === true;
    const tlsError = socket.authorizationError
      ? String(socket.authorizationError)
      : undefined;
    const base = `https://${
      hostname.includes(":") ? `[${hostname}]` : hostname
    }`;
    let request: Request;
    try {
      request = toRequest(req, base);
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: "malformed request", reason: "bad_request" }),
      );
      return;
    }
    handler(request, { certDer, tlsAuthorized, tlsError, connection: socket })
      .then((response) => writeResponse(req, res, response))
      // The client went away mid-response: nothing to tell anyone.
      .catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, hostname, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const guard = guardConnections(
    { server, hostname, port, log: opts.log },
    opts.limits,
  );
  return {
    port,
    url: `https://${
      hostname.includes(":") ? `[${hostname}]` : hostname
    }:${port}`,
    guard,
    close: () =>
      new Promise<void>((resolve) => {
        guard.stop();
        // Sockets refused during a flood may stay in the runtime's count
        // and hold the close callback back: do not wait on it forever.
        const timer = setTimeout(resolve, 2000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeAllConnections?.();
      }),
  };
}
