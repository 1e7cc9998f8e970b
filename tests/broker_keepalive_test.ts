/**
 * A keep-alive connection keeps answering after a download: the wrapper's
 * pattern (stage an input, then upload an output over the same
 * connection), many times over.
 *
 * Under Deno 2.9.6's `node:http`, a download whose last write was still in
 * flight when the response ended lost its `finish` event, and every later
 * request on that connection went unanswered; a wrapper's output upload
 * then waited until the job's TTL (`src/broker/write_response.ts`). It
 * struck a few downloads in a hundred on a busy machine, so this runs
 * enough of them that the old broker failed it (8 of 200 hung there).
 * `src/broker/write_response_test.ts` pins the cause itself.
 */
import { assertEquals } from "@std/assert";
import { startGrid } from "./_grid.ts";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";

Deno.test("broker: after a download, the next request on that connection is answered (120 rounds)", async () => {
  const grid = await startGrid({ sweepIntervalSeconds: 0 });
  try {
    const input = new TextEncoder().encode("echo staged input\n".repeat(20));
    await grid.user.upload("/jdoe/keepalive/input.sh", input);
    const token = await readTokenDir(grid.userTokenDir);
    const hung: string[] = [];
    for (let round = 0; round < 120; round++) {
      // A fresh client has one connection, which the upload reuses. No
      // retries: an unanswered upload fails after the headers timeout.
      const client = new BrokerClient(grid.url, token, {
        retries: 1,
        headersTimeoutMs: 15_000,
      });
      try {
        const res = await client.download("/jdoe/keepalive/input.sh");
        assertEquals((await res.arrayBuffer()).byteLength, input.length);
        await client.upload(
          `/jdoe/keepalive/out-${round}`,
          new TextEncoder().encode(`output ${round}\n`),
        ).catch((e) => hung.push(`round ${round}: ${(e as Error).message}`));
      } finally {
        client.close();
      }
    }
    assertEquals(hung, []);
  } finally {
    await grid.close();
  }
});
