/**
 * The broker client never waits forever for an answer: a streamed upload's
 * wait is bounded from the moment its body is sent. (A broker whose
 * keep-alive connection stopped answering held a wrapper's output upload
 * until the job's TTL; see `src/broker/write_response.ts` for that cause.)
 * The server here is a real mutual-TLS one that reads every request and
 * answers only what the test lets it.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { serveHttps } from "../src/broker/https_server.ts";
import { BrokerClient, BrokerError } from "../src/client/broker_client.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";

async function silentServer() {
  const ca = await createCa();
  const issuer = await TokenIssuer.fromPem(ca);
  const host = await issuer.issue({
    role: "HOST",
    subject: "127.0.0.1",
    hosts: ["127.0.0.1"],
    ttlSeconds: 3600,
  });
  const user = await issuer.issue({
    role: "USER",
    subject: "jdoe",
    ttlSeconds: 3600,
  });
  let received = 0;
  const server = await serveHttps(async (req) => {
    received += (await req.arrayBuffer()).byteLength;
    if (new URL(req.url).pathname === "/answered") {
      return new Response(JSON.stringify({ lfn: "/x", size: received }));
    }
    return await new Promise<Response>(() => {}); // never answers
  }, { certPem: host.certPem, keyPem: host.keyPem, caPem: ca.certPem });
  const token = {
    certPem: user.certPem,
    keyPem: user.keyPem,
    caPem: ca.certPem,
  };
  return { server, token, received: () => received };
}

function slowBody(chunks: number): ReadableStream<Uint8Array> {
  let n = 0;
  return new ReadableStream({
    async pull(c) {
      await new Promise((r) => setTimeout(r, 100));
      if (n++ < chunks) c.enqueue(new Uint8Array(1000));
      else c.close();
    },
  });
}

Deno.test("broker client: a streamed upload nobody answers fails once its body is sent", async () => {
  const { server, token, received } = await silentServer();
  const client = new BrokerClient(server.url, token, {
    headersTimeoutMs: 1000,
  });
  try {
    let bound: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_, reject) =>
      bound = setTimeout(
        () => reject(new Error("still waiting after 60 s")),
        60_000,
      )
    );
    try {
      await assertRejects(
        () => Promise.race([client.upload("/jdoe/out", slowBody(30)), hang]),
        BrokerError,
        "no answer within 1000 ms",
      );
    } finally {
      clearTimeout(bound);
    }
    // The whole body went out first, though it took longer than the bound.
    assertEquals(received(), 30_000);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("broker client: a streamed upload answered after a long body succeeds", async () => {
  const { server, token } = await silentServer();
  const client = new BrokerClient(server.url, token, {
    headersTimeoutMs: 1000,
  });
  try {
    // 40 chunks, 100 ms apart: longer than the bound, which starts at the end.
    const r = await client.request("PUT", "/answered", { body: slowBody(40) });
    assertEquals((await r.json()).size, 40_000);
  } finally {
    client.close();
    await server.close();
  }
});
