/**
 * Upload limits are checked early: a declared Content-Length over the
 * limit gets 413 before any body byte is sent, a chunked body over the
 * limit gets a clean 413, and the temp files of aborted uploads are gone,
 * at abort and at the next start.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { startBroker } from "../src/broker/broker.ts";
import { readTokenDir } from "../src/client/broker_client.ts";
import { startGrid } from "./_grid.ts";

const LIMIT = 1024 * 1024;

async function rawTls(url: string, tokenDir: string) {
  const t = await readTokenDir(tokenDir);
  const u = new URL(url);
  return await Deno.connectTls({
    hostname: u.hostname,
    port: Number(u.port),
    caCerts: [t.caPem],
    cert: t.certPem,
    key: t.keyPem,
  });
}

async function readSome(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
}

async function tmpFiles(stateDir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${stateDir}/files/tmp`)) out.push(e.name);
  return out;
}

Deno.test("upload limits: Content-Length over the limit is refused before the body, chunked over the limit is a clean 413", async () => {
  const errors: unknown[] = [];
  const grid = await startGrid({
    maxUploadBytes: LIMIT,
    onError: (e) => errors.push(e),
  });
  try {
    const conn = await rawTls(grid.url, grid.userTokenDir);
    await conn.write(new TextEncoder().encode(
      "PUT /api/v1/files/jdoe/big HTTP/1.1\r\nHost: x\r\nContent-Length: 5368709120\r\n\r\n",
    ));
    const head = await readSome(conn);
    assertStringIncludes(head, "HTTP/1.1 413");
    conn.close();

    // Chunked, no declared length: 4 × the limit in 64 KiB chunks.
    const chunked = await rawTls(grid.url, grid.userTokenDir);
    await chunked.write(new TextEncoder().encode(
      "PUT /api/v1/files/jdoe/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    ));
    const piece = new Uint8Array(64 * 1024);
    const frame = new TextEncoder().encode(`${piece.length.toString(16)}\r\n`);
    const crlf = new TextEncoder().encode("\r\n");
    const answer = readSome(chunked);
    for (let sent = 0; sent <= 4 * LIMIT; sent += piece.length) {
      try {
        await chunked.write(frame);
        await chunked.write(piece);
        await chunked.write(crlf);
      } catch {
        break; // the broker answered and closed: that is the point
      }
    }
    assertStringIncludes(await answer, "HTTP/1.1 413");
    assertStringIncludes(await answer, "too_large");
    try {
      chunked.close();
    } catch { /* closed */ }
    assertEquals(await tmpFiles(grid.stateDir), []);
    assertEquals(errors, [], "no unexpected errors logged");
  } finally {
    await grid.close();
  }
});

Deno.test("upload limits: an aborted upload leaves no temp file; leftovers are removed at start", async () => {
  const errors: unknown[] = [];
  const grid = await startGrid({ onError: (e) => errors.push(e) });
  try {
    const conn = await rawTls(grid.url, grid.userTokenDir);
    await conn.write(new TextEncoder().encode(
      "PUT /api/v1/files/jdoe/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
    ));
    await conn.write(new Uint8Array(200_000));
    for (
      let i = 0;
      i < 50 && (await tmpFiles(grid.stateDir)).length === 0;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    conn.close();
    let left = await tmpFiles(grid.stateDir);
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await tmpFiles(grid.stateDir);
    }
    assertEquals(left, [], "temp file removed at abort");
    assertEquals(errors, [], "a client abort is not an error with a stack");

    await Deno.writeTextFile(`${grid.stateDir}/files/tmp/leftover`, "x");
    const again = await startBroker({
      stateDir: grid.stateDir,
      sweepIntervalSeconds: 0,
    });
    await again.close();
    assertEquals(await tmpFiles(grid.stateDir), [], "removed at start");
  } finally {
    await grid.close();
  }
});
