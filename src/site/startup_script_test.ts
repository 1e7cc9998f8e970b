import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  renderStartupScript,
  type StartupScriptOptions,
} from "./startup_script.ts";

const PEM = (label: string) =>
  `-----BEGIN ${label}-----\nQUJD\n-----END ${label}-----\n`;

const OPTS: StartupScriptOptions = {
  broker: "broker.example.org:8443",
  token: { certPem: PEM("CERTIFICATE"), keyPem: PEM("PRIVATE KEY") },
  caPem: PEM("CERTIFICATE"),
  agentSha256: "a".repeat(64),
  wrapperSha256: "b".repeat(64),
  cores: 8,
  ttlSeconds: 86400,
  site: "CERN",
};

Deno.test("renderStartupScript: valid sh embedding token, CA and the pinned checksums", async () => {
  const text = renderStartupScript(OPTS);
  const p = new Deno.Command("/bin/sh", {
    args: ["-n"],
    stdin: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  assertEquals(new TextDecoder().decode((await p.output()).stderr), "");
  assertStringIncludes(text, "umask 077");
  assertStringIncludes(text, "trap sp_cleanup EXIT");
  assertStringIncludes(text, `SP_AGENT_SHA256=${"a".repeat(64)}`);
  assertStringIncludes(text, "-----BEGIN PRIVATE KEY-----");
  assertStringIncludes(text, "'--cores' '8' '--ttl' '86400' '--site' 'CERN'");
});

Deno.test("renderStartupScript: bad input names what was wrong", () => {
  assertThrows(
    () => renderStartupScript({ ...OPTS, broker: "no-port" }),
    TypeError,
    "expected HOST:PORT",
  );
  assertThrows(
    () => renderStartupScript({ ...OPTS, agentSha256: "xyz" }),
    TypeError,
    "expected 64 hex digits",
  );
  assertThrows(
    () => renderStartupScript({ ...OPTS, cores: 0 }),
    TypeError,
    "cores 0",
  );
  assertThrows(
    () =>
      renderStartupScript({
        ...OPTS,
        token: { ...OPTS.token, keyPem: "not a pem\nSPLITPILOT_PEM_END" },
      }),
    TypeError,
    "expected one PEM block",
  );
});
