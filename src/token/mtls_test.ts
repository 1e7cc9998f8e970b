import { assertEquals, assertRejects } from "@std/assert";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  createCa,
  type TokenIdentity,
  TokenIssuer,
  TokenVerifier,
} from "./mod.ts";

interface Seen {
  identity?: TokenIdentity;
  subject?: Record<string, unknown>;
}

/** A node:https server with a HOST token that requires client tokens. */
async function startServer(
  ca: string,
  host: { certPem: string; keyPem: string },
) {
  const verifier = new TokenVerifier(ca);
  const seen: Seen = {};
  const server = createServer({
    key: host.keyPem,
    cert: host.certPem,
    ca: [ca],
    requestCert: true,
    rejectUnauthorized: true,
  }, async (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.subject = { ...peer.subject };
    try {
      seen.identity = await verifier.verify(peer.raw);
      res.end(`hello ${seen.identity.role} ${seen.identity.jobId}`);
    } catch (e) {
      res.statusCode = 403;
      res.end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url: `https://127.0.0.1:${port}/`, seen, close };
}

for (const algorithm of ["ecdsa-p256", "rsa-2048"] as const) {
  Deno.test(`mutual TLS with ${algorithm} tokens: node:https server, Deno fetch client`, async () => {
    const ca = await createCa({ algorithm });
    const issuer = await TokenIssuer.fromPem(ca);
    const host = await issuer.issue({
      role: "HOST",
      subject: "broker",
      ttlSeconds: 600,
      algorithm,
    });
    const job = await issuer.issue({
      role: "JOB",
      subject: "alice",
      owner: "alice",
      jobId: "4711",
      ttlSeconds: 600,
      algorithm,
    });
    const srv = await startServer(ca.certPem, host);
    const client = Deno.createHttpClient({
      caCerts: [ca.certPem],
      cert: job.certPem,
      key: job.keyPem,
    });
    try {
      const res = await fetch(srv.url, { client });
      assertEquals([res.status, await res.text()], [200, "hello JOB 4711"]);
      const id = srv.seen.identity!;
      assertEquals(
        [id.role, id.subject, id.jobId, id.owner, id.serial, id.fingerprint],
        ["JOB", "alice", "4711", "alice", job.serial, job.fingerprint],
      );
      // What node:tls itself shows of the DN (under Deno: O, OU, CN).
      assertEquals(srv.seen.subject?.OU, "JOB");
      assertEquals(srv.seen.subject?.CN, "alice");
    } finally {
      client.close();
      await srv.close();
    }
  });
}

Deno.test("mutual TLS refuses a client token of a foreign CA", async () => {
  const ca = await createCa();
  const issuer = await TokenIssuer.fromPem(ca);
  const host = await issuer.issue({
    role: "HOST",
    subject: "broker",
    ttlSeconds: 600,
  });
  const foreign = await (await TokenIssuer.fromPem(await createCa())).issue({
    role: "USER",
    subject: "mallory",
    ttlSeconds: 600,
  });
  const srv = await startServer(ca.certPem, host);
  const client = Deno.createHttpClient({
    caCerts: [ca.certPem],
    cert: foreign.certPem,
    key: foreign.keyPem,
  });
  try {
    await assertRejects(() => fetch(srv.url, { client }).then((r) => r.text()));
    assertEquals(srv.seen.identity, undefined);
  } finally {
    client.close();
    await srv.close();
  }
});
