import { assert, assertEquals } from "@std/assert";
import { relayHeaders, relayTarget, responseHeaders } from "./relay_scope.ts";
import { RELAYED_JOB_HEADER } from "../broker/relayed_job.ts";

const B = "https://127.0.0.1:8443";

Deno.test("relayTarget: the job's own endpoints pass, normalised as the broker sees them", () => {
  const ok = [
    ["POST", "/api/v1/jobs/7/status"],
    ["POST", "/api/v1/jobs/7/heartbeat"],
    ["GET", "/api/v1/jobs/7"],
    ["GET", "/api/v1/files/jdoe/in.txt"],
    ["PUT", "/api/v1/files/jdoe/jobs/7/out.txt"],
    ["GET", "/api/v1/health"],
  ];
  for (const [m, p] of ok) {
    const t = relayTarget(B, "7", m, p);
    assert(t instanceof URL, `${m} ${p}: ${JSON.stringify(t)}`);
    assertEquals(t.origin, B);
  }
});

Deno.test("relayTarget: other jobs, USER/agent endpoints and tricks are refused with one line", () => {
  const cases: [string, string, number, string][] = [
    ["POST", "/api/v1/jobs/8/status", 403, "may not relay calls for job 8"],
    ["POST", "/api/v1/jobs/7/../8/status", 403, "for job 8"],
    ["POST", "/api/v1/jobs/7/%2e%2e/8/status", 403, "for job 8"],
    ["POST", "/api/v1/jobs", 403, "not a job endpoint (allowed: USER)"],
    ["POST", "/api/v1/match", 403, "not a job endpoint"],
    ["POST", "/api/v1/jobs/7/log", 403, "not a job endpoint"],
    ["GET", "/metrics", 403, "not a job endpoint"],
    ["DELETE", "/api/v1/files/jdoe/jobs/7/x", 403, "not a job endpoint"],
    ["GET", "/nowhere", 403, "no broker endpoint"],
    ["GET", "//evil.example/x", 400, "not an absolute path"],
    ["GET", "https://evil.example/x", 400, "not an absolute path"],
    ["GET", "/api/v1/jobs/7\n", 400, "not an absolute path"],
    ["get", "/api/v1/jobs/7", 400, "is not one"],
    ["GET", "/api/v1/files/%zz", 400, "percent-encoded"],
  ];
  for (const [m, p, status, text] of cases) {
    const t = relayTarget(B, "7", m, p);
    assert(!(t instanceof URL), `${m} ${p} passed`);
    assertEquals(t.status, status, `${m} ${p}: ${t.message}`);
    assert(t.message.includes(text), `${m} ${p}: ${t.message}`);
    assert(!t.message.includes("\n"));
  }
});

Deno.test("relayHeaders: credentials and connection headers are dropped, the agent's own header too", () => {
  const h = relayHeaders([
    ["content-type", "application/json"],
    ["x-sha256", "ab"],
    ["authorization", "Bearer x"],
    ["host", "evil"],
    ["content-length", "5"],
    [RELAYED_JOB_HEADER, "forged"],
  ]);
  assert(h instanceof Headers);
  assertEquals([...h.keys()].sort(), ["content-type", "x-sha256"]);
  const many = relayHeaders(
    Array.from({ length: 65 }, (_, i) => [`x-${i}`, "v"] as [string, string]),
  );
  assert(!(many instanceof Headers) && many.status === 400);
  const bad = relayHeaders([["bad name", "v"]]);
  assert(!(bad instanceof Headers) && bad.status === 400);
  assertEquals(
    responseHeaders(new Headers({ "x-sha256": "ab", connection: "close" })),
    [["x-sha256", "ab"]],
  );
});
