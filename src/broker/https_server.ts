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
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Handler } from "./handler.ts";
import { requestBody } from "./request_body.ts";
import { writeResponse } from "./write_response.ts";
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
