import { assert, assertEquals } from "@std/assert";
import {
  gunzipText,
  jobVerdict,
  shippedHeader,
  shippedLog,
} from "./job_verdict.ts";
import { parseAuditLog } from "./audit_record.ts";
import { auditRecords } from "./audit_report.ts";
import type { AuditRecord } from "./audit_record.ts";
import type { PermissionSet } from "../permissions/table.ts";

const TABLE: PermissionSet = {
  net: ["127.0.0.1:8443"],
  read: ["/workdir"],
  write: ["/workdir"],
  run: [],
  env: ["HOME"],
};
const r = (permission: string, value: string | null, i = 0): AuditRecord => ({
  v: 1,
  datetime: `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}Z`,
  permission,
  value,
});
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

Deno.test("jobVerdict: counts by kind, outside listed, log shipped and re-checkable", async () => {
  const records = [
    r("read", "/workdir/in"),
    r("net", "https://127.0.0.1:8443/api"),
    r("env", null),
    r("read", "/etc/hostname"),
  ];
  const v = await jobVerdict(records, TABLE, { complete: true });
  assertEquals(v.byKind.read, 2);
  assertEquals(v.outsideCount, 2);
  assertEquals(v.outside.map((o) => `${o.kind} ${o.value}`), [
    "read /etc/hostname",
    "env *",
  ]);
  const text = await gunzipText(unb64(v.log!));
  const header = shippedHeader(text)!;
  assertEquals([header.role, header.records], ["wrapper", "full"]);
  const again = auditRecords(parseAuditLog(text).records, header.table, {
    role: "wrapper",
  });
  assertEquals(again.outside.length, 2);
});

Deno.test("shippedLog: too large is deduplicated, then outside-only", async () => {
  // Distinct random paths do not compress: force the later forms.
  const many = Array.from(
    { length: 4000 },
    (_, i) => r("read", `/workdir/${crypto.randomUUID()}`, i),
  );
  const repeated = Array.from(
    { length: 20000 },
    (_, i) => r("read", `/workdir/f${i % 50}`, i),
  );
  const dedup = await gunzipText(unb64((await shippedLog(repeated, TABLE))!));
  assertEquals(shippedHeader(dedup)?.records, "deduplicated");
  assertEquals(parseAuditLog(dedup).records.length, 50);
  const outside = await shippedLog([...many, r("read", "/etc/shadow")], TABLE);
  const text = await gunzipText(unb64(outside!));
  assertEquals(shippedHeader(text)?.records, "outside-only");
  assertEquals(parseAuditLog(text).records.map((x) => x.value), [
    "/etc/shadow",
  ]);
  assert(shippedHeader("no header\n") === undefined);
});
