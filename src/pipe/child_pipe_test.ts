// Frames through real child processes, over the same Deno.Command pipes the
// agent uses for the wrapper.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { decodeJson } from "./decode_json.ts";
import { type Frame, FrameType } from "./frame_type.ts";
import { FrameWriter, PipeClosedError } from "./frame_writer.ts";
import type { StatusMessage } from "../protocol/messages.ts";
import { readFrames } from "./read_frames.ts";
import {
  ALL_TYPES,
  assertFramesEqual,
  patterned,
  randomInt,
  seededRandom,
} from "./_testing.ts";

async function roundTrip(cmd: string, args: string[] = []): Promise<void> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = new FrameWriter(child.stdin);
  const rng = seededRandom(42);
  const expected: Frame[] = [];
  const sends: Promise<void>[] = [];
  for (let k = 0; k < 300; k++) {
    const type = ALL_TYPES[k % ALL_TYPES.length];
    const size = k % 50 === 0
      ? randomInt(rng, 1 << 20, 3 << 20)
      : randomInt(rng, 0, 2000);
    const payload = patterned(size, k);
    expected.push({ type, payload });
    sends.push(out.sendBytes(type, payload));
  }
  const status: StatusMessage = { state: "RUNNING", message: "ünïcødé" };
  expected.push({
    type: FrameType.Status,
    payload: new TextEncoder().encode(JSON.stringify(status)),
  });
  sends.push(out.send(FrameType.Status, status));
  // Read while writing: the pipe holds far less than we send.
  const reading = (async () => {
    const got: Frame[] = [];
    for await (const f of readFrames(child.stdout)) got.push(f);
    return got;
  })();
  await Promise.all(sends);
  await out.close();
  const got = await reading;
  assertFramesEqual(got, expected);
  assertEquals(decodeJson(got[got.length - 1]), status);
  assert((await child.status).success);
}

Deno.test("frames survive a round trip through `cat`", async () => {
  await roundTrip("cat");
});

Deno.test("frames survive a round trip through a Deno child on its stdio", async () => {
  // pipe_echo.ts decodes stdin with readFrames and re-encodes to stdout with
  // FrameWriter, as the wrapper does; it runs with no permissions.
  const echo =
    new URL("../../tests/fixtures/pipe_echo.ts", import.meta.url).href;
  await roundTrip(Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    "--no-config",
    echo,
  ]);
});

Deno.test("FrameWriter rejects sends to a child that has exited", async () => {
  const child = new Deno.Command("true", {
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await child.status;
  const out = new FrameWriter(child.stdin);
  const err = await assertRejects(
    () => out.sendBytes(FrameType.Log, new Uint8Array(1 << 20)),
    PipeClosedError,
    "cannot send Log frame: the pipe is closed (the other side went away:",
  );
  assert(err.cause instanceof Error);
  assertEquals(out.closed, true);
  await assertRejects(
    () => out.send(FrameType.Start, { jobId: "1" }),
    PipeClosedError,
  );
  await out.close();
});
