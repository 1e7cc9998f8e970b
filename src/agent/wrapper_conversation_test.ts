import { assertEquals, assertRejects } from "@std/assert";
import { type Frame, FrameType, PROTOCOL_VERSION } from "../pipe/mod.ts";
import type { LogMessage, StartMessage } from "../protocol/mod.ts";
import { converse } from "./wrapper_conversation.ts";

const START: StartMessage = {
  jobId: "5",
  jdl: 'Executable = "/bin/true";',
  user: "alice",
  token: { certPem: "c", keyPem: "k", caPem: "a" },
  broker: "https://127.0.0.1:1",
  resubmission: 0,
  siteMap: {},
  env: {},
};

function frame(type: FrameType, value: unknown): Frame {
  return { type, payload: new TextEncoder().encode(JSON.stringify(value)) };
}

/** A fake wrapper's stdout: these frames, then EOF. */
async function* wrapperSays(...frames: Frame[]): AsyncGenerator<Frame> {
  for (const f of frames) yield f;
}

function talk(frames: AsyncIterator<Frame>, helloTimeoutMs = 10_000) {
  const sent: [FrameType, StartMessage][] = [];
  const stages: string[] = [];
  const logs: LogMessage[] = [];
  const seen: FrameType[] = [];
  const done = converse({
    frames,
    send: (t, m) => {
      sent.push([t, m]);
      return Promise.resolve();
    },
    start: START,
    helloTimeoutMs,
    onFrame: (f) => void seen.push(f.type),
    onStage: (s) => void stages.push(s),
    onLog: (l) => void logs.push(l),
  });
  return { done, sent, stages, logs, seen };
}

Deno.test("conversation: hello, start, status and log frames, end", async () => {
  const t = talk(wrapperSays(
    frame(FrameType.Hello, { version: PROTOCOL_VERSION }),
    frame(FrameType.Status, { state: "RUNNING" }),
    frame(FrameType.Log, { stream: "stdout", lines: ["hi"] }),
    frame(FrameType.Status, { state: "SAVING" }),
    frame(FrameType.End, { state: "DONE", exitCode: 0 }),
    frame(FrameType.Status, { state: "never read" }),
  ));
  assertEquals(await t.done, { state: "DONE", exitCode: 0 });
  assertEquals(t.sent, [[FrameType.Start, START]]);
  assertEquals(t.stages, ["RUNNING", "SAVING"]);
  assertEquals(t.logs, [{ stream: "stdout", lines: ["hi"] }]);
  assertEquals(t.seen, [
    FrameType.Status,
    FrameType.Log,
    FrameType.Status,
    FrameType.End,
  ]);
});

Deno.test("conversation: a wrapper that said nothing gives no end and no error", async () => {
  const t = talk(wrapperSays());
  assertEquals(await t.done, undefined);
  assertEquals(t.sent, []);
});

Deno.test("conversation: stdout closing before end gives no end", async () => {
  const t = talk(wrapperSays(
    frame(FrameType.Hello, { version: PROTOCOL_VERSION }),
    frame(FrameType.Status, { state: "RUNNING" }),
  ));
  assertEquals(await t.done, undefined);
  assertEquals(t.stages, ["RUNNING"]);
});

Deno.test("conversation: another first frame is a protocol violation; no start is sent", async () => {
  const t = talk(wrapperSays(frame(FrameType.End, { state: "DONE" })));
  await assertRejects(() => t.done, Error, "expected a hello frame first");
  assertEquals(t.sent, []);
});

Deno.test("conversation: another protocol version is refused", async () => {
  const t = talk(
    wrapperSays(frame(FrameType.Hello, { version: PROTOCOL_VERSION + 1 })),
  );
  await assertRejects(
    () => t.done,
    Error,
    `wrapper speaks protocol ${PROTOCOL_VERSION + 1}`,
  );
});

Deno.test("conversation: no hello in time is an error", async () => {
  const never: AsyncIterator<Frame> = {
    next: () => new Promise(() => {}),
  };
  const t = talk(never, 10);
  await assertRejects(() => t.done, Error, "hello");
});
