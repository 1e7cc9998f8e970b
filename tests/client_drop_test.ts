/**
 * A client that drops its connection in the middle of a request body is
 * no broker fault: nothing reaches the broker's error log (no ECONNRESET
 * stack trace), nothing is stored, and the broker serves the next request.
 */
import { assertEquals } from "@std/assert";
import { connect } from "node:tls";
import { startGrid } from "./_grid.ts";
import { readTokenDir } from "../src/client/broker_client.ts";

Deno.test("a client dropping mid-body leaves no error in the broker's log", async () => {
  const errors: unknown[] = [];
  const grid = await startGrid({ onError: (e) => errors.push(e) });
  try {
    const token = await readTokenDir(grid.userTokenDir);
    const url = new URL(grid.url);
    for (const path of ["/api/v1/files/jdoe/dropped.bin", "/api/v1/jobs"]) {
      const method = path.includes("files") ? "PUT" : "POST";
      await new Promise<void>((resolve, reject) => {
        const s = connect({
          host: url.hostname,
          port: Number(url.port),
          ca: token.caPem,
          cert: token.certPem,
          key: token.keyPem,
          servername: "localhost",
          rejectUnauthorized: false,
        }, () => {
          s.write(
            `${method} ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n`,
          );
          s.write("x".repeat(50_000), () => {
            setTimeout(() => {
              s.resetAndDestroy?.() ?? s.destroy();
              resolve();
            }, 200);
          });
        });
        s.on("error", () => {});
        s.on("close", () => resolve());
        setTimeout(() => reject(new Error("no connection")), 20_000);
      });
    }
    await new Promise((r) => setTimeout(r, 1000));
    assertEquals(errors.map(String), []);
    const files = await grid.user.json<{ files: unknown[] }>(
      "GET",
      "/api/v1/files?prefix=/jdoe/",
    );
    assertEquals(files!.files, []);
  } finally {
    await grid.close();
  }
});
