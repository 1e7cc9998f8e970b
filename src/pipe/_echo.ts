// Echoes frames from stdin back to stdout, decoding and re-encoding each;
// the far end of benchPipe. Needs no permissions.
import { FrameWriter } from "./frame_writer.ts";
import { readFrames } from "./read_frames.ts";

// Reading waits only once this much is queued for writing, so reads and
// writes overlap and small frames batch up in the writer.
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

if (import.meta.main) {
  const out = new FrameWriter(Deno.stdout.writable);
  const pending: { sent: Promise<void>; bytes: number }[] = [];
  let pendingBytes = 0;
  for await (const frame of readFrames(Deno.stdin.readable)) {
    const sent = out.sendBytes(frame.type, frame.payload);
    sent.catch(() => {}); // awaited below; a broken pipe ends the loop there
    pending.push({ sent, bytes: frame.payload.length + 5 });
    pendingBytes += frame.payload.length + 5;
    while (pendingBytes > MAX_PENDING_BYTES) {
      const oldest = pending.shift()!;
      await oldest.sent;
      pendingBytes -= oldest.bytes;
    }
  }
  await Promise.all(pending.map((p) => p.sent));
  await out.close();
}
