import { assertEquals, assertStringIncludes } from "@std/assert";
import { parseAuditLog } from "./audit_record.ts";
import { auditRecords, formatAuditReport } from "./audit_report.ts";
import {
  type PermissionSet,
  wrapperPermissions,
} from "../permissions/table.ts";

const SET: PermissionSet = {
  net: ["127.0.0.1:8443"],
  read: ["/workdir"],
  write: ["/workdir"],
  run: [],
  env: ["HOME"],
};

const LOG = [
  '{"v":1,"datetime":"2026-01-01T00:00:00Z","permission":"read","value":"/workdir"}',
  "[wrapper 2026-01-01T00:00:00Z] staged input.txt",
  '{"v":1,"datetime":"2026-01-01T00:00:00Z","permission":"read","value":"/etc/hostname"}',
  '{"v":1,"datetime":"2026-01-01T00:00:00Z","permission":"net","value":"https://127.0.0.1:8443/api"}',
  '{"v":1,"datetime":"2026-01-01T00:00:00Z","permission":"net","value":"127.0.0.1:8443"}',
  '{"v":1,"datetime":"2026-01-01T00:00:00Z","permission":"env","value":null}',
  '{"v":1, broken',
  "",
].join("\n");

Deno.test("parseAuditLog: records from a mixed stream, other lines counted", () => {
  const p = parseAuditLog(LOG);
  assertEquals(p.records.length, 5);
  assertEquals(p.skipped, 2);
  assertEquals(p.records[4], {
    v: 1,
    datetime: "2026-01-01T00:00:00Z",
    permission: "env",
    value: null,
  });
});

Deno.test("auditRecords: counts per kind, fetch's two forms as one target, outside listed", () => {
  const p = parseAuditLog(LOG);
  const r = auditRecords(p.records, SET, { role: "wrapper", skipped: 2 });
  const net = r.kinds.find((k) => k.kind === "net")!;
  assertEquals([net.checks, net.values.length, net.outside], [2, 1, 0]);
  assertEquals(r.outside, [
    { kind: "read", value: "/etc/hostname", count: 1 },
    { kind: "env", value: "*", count: 1 },
  ]);
  const text = formatAuditReport(r);
  assertStringIncludes(text, "2 non-audit line(s) skipped");
  assertStringIncludes(
    text,
    "REFUSED check is logged exactly like a granted one",
  );
  assertStringIncludes(text, "read /etc/hostname (1×)");
  assertStringIncludes(text, "result: FAIL: 2 distinct access(es)");
});

Deno.test("auditRecords: nothing outside gives OK", () => {
  const p = parseAuditLog(LOG.split("\n").slice(0, 2).join("\n"));
  const r = auditRecords(p.records, SET, { role: "wrapper" });
  assertEquals(r.outside, []);
  assertStringIncludes(formatAuditReport(r), "result: OK");
});

Deno.test("auditRecords: against the wrapper's table row any network access is outside (the relay)", () => {
  const row = wrapperPermissions({ sandbox: "/workdir", payload: [] });
  assertEquals(row.net, []);
  const r = auditRecords(parseAuditLog(LOG).records, row, { role: "wrapper" });
  assertEquals(
    r.outside.filter((o) => o.kind === "net"),
    [{ kind: "net", value: "127.0.0.1:8443", count: 2 }],
  );
});
