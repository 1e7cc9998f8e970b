import { assertEquals, assertStringIncludes } from "@std/assert";
import {
  AUDIT_OFF,
  AuditSink,
  finalVerdict,
  pumpStderr,
} from "./audit_sink.ts";
import type { PermissionSet } from "../permissions/table.ts";

const TABLE: PermissionSet = {
  net: ["127.0.0.1:8443"],
  read: ["/workdir"],
  write: ["/workdir"],
  run: [],
  env: ["HOME"],
};
const rec = (permission: string, value: string) =>
  JSON.stringify({ v: 1, datetime: "2026-01-01T00:00:00Z", permission, value });
const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("AuditSink: records kept, other lines passed on, lines split across chunks", () => {
  const sink = new AuditSink();
  const text = `[wrapper t] up\n${rec("read", "/workdir/a")}\nbwrap: note\n${
    rec("write", "/workdir/b")
  }\n`;
  let passed = "";
  for (let i = 0; i < text.length; i += 7) {
    passed += sink.take(enc(text.slice(i, i + 7)));
  }
  passed += sink.flush();
  assertEquals(passed, "[wrapper t] up\nbwrap: note\n");
  assertEquals(sink.records.map((r) => r.value), ["/workdir/a", "/workdir/b"]);
});

Deno.test("AuditSink: a partial line written in front of a record does not hide it", async () => {
  const sink = new AuditSink();
  sink.take(
    enc(`{"v":1,"permission":"read","value":"${rec("read", "/etc/passwd")}\n`),
  );
  const v = await sink.verdict(TABLE, { complete: true, ship: false });
  assertEquals(v.outside, [{ kind: "read", value: "/etc/passwd", count: 1 }]);
  assertEquals(v.skipped, 1);
});

Deno.test("AuditSink: echo passes the records on too; past the limit each access is kept once", async () => {
  const echo = new AuditSink({ echo: true });
  assertEquals(
    echo.take(enc(rec("env", "HOME") + "\n")),
    rec("env", "HOME") + "\n",
  );
  const small = new AuditSink({ maxRecords: 2 });
  for (let i = 0; i < 5; i++) small.take(enc(rec("read", "/workdir/x") + "\n"));
  small.take(enc(rec("read", "/etc/hosts") + "\n"));
  const v = await small.verdict(TABLE, { complete: true, ship: false });
  assertEquals(v.outsideCount, 1);
  assertEquals(small.records.length, 4);
  assertStringIncludes(v.note ?? "", "2 repeated record(s)");
});

Deno.test("pumpStderr and finalVerdict: the whole stream, off and hand-built launches", async () => {
  const sink = new AuditSink();
  const body = new Blob([`${rec("read", "/workdir")}\nlast line`]).stream();
  let rest = "";
  assertEquals(await pumpStderr(body, sink, (t) => rest += t), true);
  assertEquals(rest, "last line\n");
  const v = await finalVerdict({ table: TABLE, audit: true }, sink, true);
  assertEquals([v?.mode, v?.records, v?.outsideCount], ["on", 1, 0]);
  assertEquals(
    await finalVerdict({ table: TABLE }, undefined, true),
    AUDIT_OFF,
  );
  assertEquals(await finalVerdict({}, undefined, true), undefined);
});
