import { assertEquals, assertThrows } from "@std/assert";
import { decodeJson } from "./decode_json.ts";
import { encodeJsonFrame } from "./encode_frame.ts";
import { FrameType } from "./frame_type.ts";
import type { StartMessage } from "../protocol/messages.ts";
import { ProtocolError } from "./protocol_error.ts";

function frameOf(text: string | Uint8Array, type: FrameType = FrameType.Start) {
  const payload = typeof text === "string"
    ? new TextEncoder().encode(text)
    : text;
  return { type, payload };
}

Deno.test("decodeJson() round-trips a full StartMessage", () => {
  const start: StartMessage = {
    jobId: "42",
    jdl: 'Executable = "/bin/echo";\nArguments = "ünïcødé ✓";',
    user: "alice",
    token: { certPem: "C", keyPem: "K", caPem: "A" },
    broker: "https://127.0.0.1:8443",
    resubmission: 2,
    siteMap: { CE: "local", cores: 4, packages: ["a", "b"] },
    env: { FOO: "bar" },
  };
  const bytes = encodeJsonFrame(FrameType.Start, start);
  const back = decodeJson<StartMessage>({
    type: FrameType.Start,
    payload: bytes.subarray(5),
  });
  assertEquals(back, start);
});

Deno.test("decodeJson() reads a payload that is a view into a larger buffer", () => {
  const buf = new TextEncoder().encode('xx{"a":1}yy');
  assertEquals(
    decodeJson(frameOf(buf.subarray(2, 9))),
    { a: 1 },
  );
});

Deno.test("decodeJson() rejects bad UTF-8", () => {
  assertThrows(
    () => decodeJson(frameOf(new Uint8Array([0x7b, 0xff, 0x7d]))),
    ProtocolError,
    "Start frame payload is not valid UTF-8, expected UTF-8 JSON",
  );
});

Deno.test("decodeJson() rejects bad JSON and shows the first bytes", () => {
  const err = assertThrows(
    () => decodeJson(frameOf("{not json", FrameType.Status)),
    ProtocolError,
    "Status frame payload is not valid JSON",
  );
  assertEquals(err.message.includes('first bytes: "{not json"'), true);
});

Deno.test("decodeJson() rejects non-objects, naming what it found", () => {
  const cases: [string, string][] = [
    ["[1,2]", "is an array, expected a JSON object"],
    ["null", "is null, expected a JSON object"],
    ["42", "is a number, expected a JSON object"],
    ['"s"', "is a string, expected a JSON object"],
    ["", "is not valid JSON"],
  ];
  for (const [text, message] of cases) {
    assertThrows(() => decodeJson(frameOf(text)), ProtocolError, message);
  }
});
