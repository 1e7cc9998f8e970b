/**
 * A large download waits for `drain` many times: each wait must take its
 * listeners with it (no MaxListenersExceededWarning), and the bytes must
 * arrive intact.
 */
import { assertEquals } from "@std/assert";
import process from "node:process";
import { startGrid } from "./_grid.ts";

Deno.test("download: a 16 MiB download to a slow reader leaks no listeners", async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on("warning", onWarning);
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  try {
    const size = 16 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) data[i] = i % 251;
    await grid.user.upload("/jdoe/big.bin", data);
    const res = await grid.user.download("/jdoe/big.bin");
    let got = 0;
    let mismatch = -1;
    for await (const chunk of res.body!) {
      for (let j = 0; j < chunk.length; j++) {
        if (chunk[j] !== data[got + j] && mismatch < 0) mismatch = got + j;
      }
      got += chunk.length;
      // A slow reader: the broker's socket buffer fills, it waits to drain.
      await new Promise((r) => setTimeout(r, 1));
    }
    assertEquals(got, size);
    assertEquals(mismatch, -1);
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(
      warnings.filter((w) => w.includes("MaxListeners")),
      [],
    );
  } finally {
    process.off("warning", onWarning);
    await grid.close();
  }
});
