import { assertEquals } from "@std/assert";
import {
  auditSummaryLine,
  type AuditVerdict,
  isViolation,
  verdictProblem,
} from "./audit_verdict.ts";

const CLEAN: AuditVerdict = {
  mode: "on",
  records: 12,
  byKind: { read: 8, write: 0, net: 4 },
  outsideCount: 0,
  outside: [],
  skipped: 0,
  complete: true,
};

Deno.test("auditSummaryLine: counts, what Deno does not log, the verdict", () => {
  assertEquals(
    auditSummaryLine(CLEAN),
    "audit: wrapper 12 checks (read 8, net 4); run not logged by Deno (bounded by the launch flags only); 0 outside the table",
  );
  const bad: AuditVerdict = {
    ...CLEAN,
    outsideCount: 2,
    outside: [{ kind: "read", value: "/etc/x\nforged", count: 3 }],
    complete: false,
  };
  assertEquals(isViolation(bad), true);
  assertEquals(
    auditSummaryLine(bad),
    "audit: AUDIT_VIOLATION: wrapper 12 checks (read 8, net 4); run not logged by Deno (bounded by the launch flags only); 2 outside the table: read /etc/x\\x0aforged (3×), …; stream still open at the check",
  );
  assertEquals(
    auditSummaryLine({ ...CLEAN, mode: "off", note: "site choice" }),
    "audit: off (site choice)",
  );
});

Deno.test("verdictProblem: well-formed passes, anything else is named", () => {
  assertEquals(verdictProblem(CLEAN), undefined);
  assertEquals(verdictProblem([]), '"audit" must be an object');
  assertEquals(
    verdictProblem({ ...CLEAN, complete: "yes" }),
    '"audit.complete" must be a boolean',
  );
  assertEquals(
    verdictProblem({
      ...CLEAN,
      outsideCount: 0,
      outside: [{ kind: "read", value: "/x", count: 1 }],
    }),
    '"audit.outsideCount" is smaller than the list',
  );
});
