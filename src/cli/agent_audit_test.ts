import { assertEquals, assertStringIncludes } from "@std/assert";
import { agentAuditFile, agentAuditSummary } from "./agent_audit.ts";

Deno.test("agentAuditFile: in an existing work root, unless off or set by the caller", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(agentAuditFile(dir, { off: false }), {
      file: `${dir}/agent-audit.jsonl`,
    });
    assertEquals(agentAuditFile(dir, { off: true }).why, "off (--audit off)");
    assertStringIncludes(
      agentAuditFile(dir, { off: false, inherited: "/x" }).why!,
      "DENO_AUDIT_PERMISSIONS=/x",
    );
    assertStringIncludes(
      agentAuditFile(`${dir}/nope`, { off: false }).why!,
      "does not exist yet",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agentAuditSummary: counts and what is outside the agent's row", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rec = (permission: string, value: string) =>
      JSON.stringify({ v: 1, datetime: "", permission, value });
    const file = `${dir}/a.jsonl`;
    await Deno.writeTextFile(
      file,
      [rec("read", "/w/x"), rec("net", "b:1"), rec("read", "/etc/shadow")]
        .join("\n") + "\n",
    );
    const r = await agentAuditSummary(file, {
      net: ["b:1"],
      read: ["/w"],
      write: ["/w"],
      run: [],
      env: [],
    });
    assertEquals(r.outside, 1);
    assertStringIncludes(r.line, "agent audit: AUDIT_VIOLATION: 3 checks");
    assertStringIncludes(r.line, '1 outside the table: read "/etc/shadow"');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
