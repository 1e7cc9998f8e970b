import { assertEquals } from "@std/assert";
import { BrokerError } from "./broker_client.ts";
import { classify, resend } from "./resend.ts";

const down = () => new BrokerError(0, "unreachable", "broker down");

Deno.test("classify: outages retry, revoked or moved-on jobs are taken", () => {
  assertEquals(classify(down()), "retry");
  assertEquals(classify(new BrokerError(503, "x", "busy")), "retry");
  assertEquals(classify(new BrokerError(409, "raced", "raced")), "retry");
  assertEquals(classify(new Error("socket")), "retry");
  assertEquals(classify(new BrokerError(401, "revoked", "no")), "taken");
  assertEquals(classify(new BrokerError(403, "wrong_object", "no")), "taken");
  assertEquals(
    classify(
      new BrokerError(409, "superseded", "x", { state: "WAITING", attempt: 2 }),
    ),
    "taken",
  );
  assertEquals(classify(new BrokerError(400, "bad_state", "no")), "refused");
  assertEquals(classify(new Deno.errors.NotCapable("net")), "refused");
});

Deno.test("classify: errors about our own files are refused; network-ish ones retry", () => {
  for (
    const e of [
      new Deno.errors.NotFound("stdout"),
      new Deno.errors.IsADirectory("out"),
      new Deno.errors.NotADirectory("d/x"),
      new Deno.errors.FilesystemLoop("l/x"),
    ]
  ) assertEquals(classify(e), "refused", e.name);
  // A body cut off mid-read reaches us as a TypeError from fetch.
  assertEquals(classify(new TypeError("error reading a body")), "retry");
  assertEquals(classify(new Deno.errors.ConnectionReset("reset")), "retry");
});

Deno.test("resend keeps trying through an outage until acknowledged", async () => {
  let calls = 0;
  const r = await resend(() => {
    if (++calls < 5) throw down();
    return Promise.resolve("ok");
  }, { firstDelayMs: 1, maxDelayMs: 2 });
  assertEquals(r, { kind: "acked", value: "ok" });
  assertEquals(calls, 5);
});

Deno.test("resend stops at once when the job is taken away", async () => {
  let calls = 0;
  const r = await resend(() => {
    calls++;
    throw new BrokerError(401, "revoked", "token revoked");
  }, { firstDelayMs: 1 });
  assertEquals([r.kind, calls], ["taken", 1]);
});

Deno.test("resend gives up only when its time budget is spent", async () => {
  const r = await resend(() => {
    throw down();
  }, { firstDelayMs: 1, maxDelayMs: 1, maxMs: 30 });
  assertEquals(r.kind, "expired");
});

Deno.test("resend: an error the caller calls permanent is refused at once, never retried", async () => {
  let tries = 0;
  class Local extends Error {}
  const r = await resend(() => {
    tries++;
    return Promise.reject(new Local("file changed"));
  }, { permanent: (e) => e instanceof Local, firstDelayMs: 1, maxMs: 60_000 });
  assertEquals([r.kind, tries], ["refused", 1]);
});
