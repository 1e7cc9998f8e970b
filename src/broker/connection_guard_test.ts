import { assert, assertEquals } from "@std/assert";
import { createServer, type Server } from "node:net";
import { guardConnections } from "./connection_guard.ts";

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return (server.address() as { port: number }).port;
}

Deno.test("connection guard: the per-peer limit closes the excess, and the self-check sees a live accept loop", async () => {
  const server = createServer((s) => s.on("error", () => {}));
  const port = await listen(server);
  const log: string[] = [];
  const guard = guardConnections(
    { server, hostname: "127.0.0.1", port, log: (l) => log.push(l) },
    { maxConnections: 100, maxConnectionsPerPeer: 2 },
  );
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    // The refused three see EOF; the two kept ones stay open.
    let closed = 0;
    for (const c of conns) {
      const n = await Promise.race([
        c.read(new Uint8Array(1)).catch(() => null),
        new Promise<"open">((r) => setTimeout(() => r("open"), 500)),
      ]);
      if (n === null) closed++;
    }
    assertEquals(closed, 3);
    assertEquals(guard.refusedPerPeer, 3);
    assertEquals(guard.open, 2);
    assert(log.some((l) => l.includes("per-peer limit")), log.join("\n"));
    // The self-check's own connection is never refused as a peer's excess.
    assertEquals(await guard.check(), true);
    assertEquals(guard.recoveries, 0);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    guard.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
