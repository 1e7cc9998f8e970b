import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { forge } from "../../tests/_x509.ts";
import {
  createCa,
  derToPem,
  pemToDer,
  TokenError,
  TokenIssuer,
  TokenVerifier,
} from "./mod.ts";
import type { TokenErrorReason } from "./token_error.ts";

const ca = await createCa();
const issuer = await TokenIssuer.fromPem(ca);

async function refused(
  v: TokenVerifier,
  cert: Uint8Array | string,
  reason: TokenErrorReason,
  opts?: { now?: Date },
): Promise<TokenError> {
  const e = await assertRejects(() => v.verify(cert, opts), TokenError);
  assertEquals(e.reason, reason, `expected ${reason}, got: ${e.message}`);
  return e;
}

Deno.test("verify: accepts our tokens as PEM and as DER", async () => {
  const v = new TokenVerifier(ca.certPem);
  const t = await issuer.issue({
    role: "JOB",
    subject: "alice",
    owner: "alice",
    jobId: "7",
    ttlSeconds: 600,
  });
  const a = await v.verify(t.certPem);
  const b = await new TokenVerifier(ca.certPem).verify(pemToDer(t.certPem));
  assertEquals(a, b);
  assertEquals(
    [a.role, a.subject, a.jobId, a.owner, a.admin],
    ["JOB", "alice", "7", "alice", false],
  );
  assertEquals([a.serial, a.fingerprint], [t.serial, t.fingerprint]);
  assertEquals(
    a.dn,
    "CN=alice, serialNumber=7, UID=alice, OU=JOB, O=splitpilot",
  );
  const admin = await v.verify(
    (await issuer.issue({
      role: "USER",
      subject: "boss",
      admin: true,
      ttlSeconds: 60,
    })).certPem,
  );
  assertEquals([admin.role, admin.admin], ["USER", true]);
});

Deno.test("verify: accepts a well-formed token made by another encoder", async () => {
  const f = await forge({
    subject: "O=splitpilot, OU=JOB_AGENT, CN=agent-1",
    signer: ca,
  });
  const id = await new TokenVerifier(ca.certPem).verify(f.der);
  assertEquals([id.role, id.subject], ["JOB_AGENT", "agent-1"]);
});

Deno.test("verify: refuses a token of a foreign CA", async () => {
  const v = new TokenVerifier(ca.certPem);
  const foreign = await createCa({ subject: "evil CA" });
  const t = await (await TokenIssuer.fromPem(foreign)).issue({
    role: "USER",
    subject: "alice",
    ttlSeconds: 60,
  });
  const e = await refused(v, t.certPem, "unknown_issuer");
  assertStringIncludes(e.message, 'issued by "CN=evil CA, O=splitpilot"');
});

Deno.test("verify: refuses certificates that copy our CA's DN", async () => {
  const v = new TokenVerifier(ca.certPem);
  // A second CA with the very same DN (and its own key).
  const twin = await createCa();
  const t = await (await TokenIssuer.fromPem(twin)).issue({
    role: "USER",
    subject: "alice",
    ttlSeconds: 60,
  });
  await refused(v, t.certPem, "bad_signature");
  // A self-signed leaf naming our CA as issuer.
  const self = await forge({
    subject: "O=splitpilot, OU=USER, CN=alice",
    issuerOf: ca,
  });
  await refused(v, self.der, "bad_signature");
  // A self-signed CA certificate with our CA's DN.
  const fakeCa = await forge({
    subject: "O=splitpilot, CN=splitpilot CA",
    basic: "ca",
  });
  await refused(v, fakeCa.der, "bad_signature");
  // Our own CA certificate is not a token.
  await refused(v, ca.certPem, "not_leaf");
});

Deno.test("verify: refuses expired and not-yet-valid tokens", async () => {
  const v = new TokenVerifier(ca.certPem);
  const hour = 3600_000;
  const expired = await issuer.issue({
    role: "USER",
    subject: "alice",
    ttlSeconds: 60,
    notBefore: new Date(Date.now() - 2 * hour),
    notAfter: new Date(Date.now() - hour),
  });
  const e = await refused(v, expired.certPem, "expired");
  assertStringIncludes(e.message, "token expired at");
  const future = await issuer.issue({
    role: "USER",
    subject: "alice",
    ttlSeconds: 60,
    notBefore: new Date(Date.now() + hour),
    notAfter: new Date(Date.now() + 2 * hour),
  });
  await refused(v, future.certPem, "not_yet_valid");
  // ...and it becomes valid at its time.
  const later = await v.verify(future.certPem, {
    now: new Date(Date.now() + 1.5 * hour),
  });
  assertEquals(later.subject, "alice");
});

Deno.test("verify: cached tokens still get their validity window checked", async () => {
  const v = new TokenVerifier(ca.certPem);
  const t = await issuer.issue({ role: "USER", subject: "c", ttlSeconds: 60 });
  await v.verify(t.certPem);
  assertEquals(v.cached, 1);
  await v.verify(t.certPem);
  assertEquals(v.cached, 1);
  await refused(v, t.certPem, "expired", {
    now: new Date(t.notAfter.getTime() + 1000),
  });
  await refused(v, t.certPem, "not_yet_valid", {
    now: new Date(t.notBefore.getTime() - 1000),
  });
  // The cached identity is a copy: callers cannot poison the cache.
  const id = await v.verify(t.certPem);
  id.role = "HOST";
  id.notAfter.setTime(0);
  const again = await v.verify(t.certPem);
  assertEquals([again.role, again.notAfter], ["USER", t.notAfter]);
});

Deno.test("verify: the cache is a bounded LRU and holds only successes", async () => {
  const v = new TokenVerifier(ca.certPem, { cacheSize: 2 });
  const ts = await Promise.all(
    ["a", "b", "c"].map((s) =>
      issuer.issue({ role: "USER", subject: s, ttlSeconds: 60 })
    ),
  );
  for (const t of ts) await v.verify(t.certPem);
  assertEquals(v.cached, 2);
  const bad = await issuer.issue({
    role: "USER",
    subject: "x",
    ttlSeconds: 60,
    notBefore: new Date(Date.now() - 7200_000),
    notAfter: new Date(Date.now() - 3600_000),
  });
  await refused(v, bad.certPem, "expired");
  assertEquals(v.cached, 2);
  const off = new TokenVerifier(ca.certPem, { cacheSize: 0 });
  await off.verify(ts[0].certPem);
  assertEquals(off.cached, 0);
});

Deno.test("verify: refuses tampered signatures and tampered contents", async () => {
  const v = new TokenVerifier(ca.certPem);
  const t = await issuer.issue({
    role: "USER",
    subject: "alice",
    ttlSeconds: 60,
  });
  const der = pemToDer(t.certPem);
  // The last byte lies inside the signature's s value.
  const sig = der.slice();
  sig[sig.length - 1] ^= 0x01;
  await refused(v, sig, "bad_signature");
  // Change the CN "alice" to "blice": still well-formed, no longer signed.
  const tbs = der.slice();
  const at = findBytes(tbs, new TextEncoder().encode("alice"));
  assert(at > 0);
  tbs[at] = "b".charCodeAt(0);
  await refused(v, tbs, "bad_signature");
  // And the original, once verified and cached, is still fine.
  assertEquals((await v.verify(der)).subject, "alice");
});

Deno.test("verify: refuses unknown roles and malformed token DNs", async () => {
  const v = new TokenVerifier(ca.certPem);
  const cases: [string, TokenErrorReason, string][] = [
    ["O=splitpilot, OU=ADMIN, CN=alice", "bad_role", "unknown role OU=ADMIN"],
    ["O=splitpilot, CN=alice", "bad_role", "has no role OU"],
    ["O=splitpilot, OU=USER, OU=JOB, CN=alice", "bad_role", "more than one"],
    [
      "O=splitpilot, OU=JOB, 0.9.2342.19200300.100.1.1=alice, CN=alice",
      "bad_dn",
      "without a job ID",
    ],
    [
      "O=splitpilot, OU=JOB, 2.5.4.5=42, CN=alice",
      "bad_dn",
      "without an owner",
    ],
    [
      "O=splitpilot, OU=USER, 2.5.4.5=42, CN=alice",
      "bad_dn",
      "not a JOB token",
    ],
    [
      "O=splitpilot, OU=HOST, 2.5.4.12=admin, CN=h",
      "bad_dn",
      "only for role USER",
    ],
    ["O=other, OU=USER, CN=alice", "bad_dn", "must have O=splitpilot"],
    ["O=splitpilot, OU=USER", "bad_dn", "has no CN"],
    ["O=splitpilot, OU=USER, L=Geneva, CN=alice", "bad_dn", "unexpected"],
    ["O=splitpilot, OU=USER, CN=a/../b", "bad_dn", "outside"],
  ];
  for (const [subject, reason, msg] of cases) {
    const f = await forge({ subject, signer: ca });
    const e = await refused(v, f.der, reason);
    assertStringIncludes(e.message, msg);
  }
});

Deno.test("verify: refuses signed certificates that are not leaf tokens", async () => {
  const v = new TokenVerifier(ca.certPem);
  const subCa = await forge({
    subject: "O=splitpilot, OU=USER, CN=alice",
    signer: ca,
    basic: "ca",
  });
  const e = await refused(v, subCa.der, "not_leaf");
  assertStringIncludes(e.message, "CA certificate cannot be used as a token");
  // Without basicConstraints a certificate is no CA (RFC 5280 4.2.1.9):
  // a token, as OpenSSL and the TLS layer read it too.
  const noBc = await forge({
    subject: "O=splitpilot, OU=USER, CN=alice",
    signer: ca,
    basic: "none",
  });
  assertEquals((await v.verify(noBc.der)).role, "USER");
});

Deno.test("verify: refuses garbage as malformed", async () => {
  const v = new TokenVerifier(ca.certPem);
  await refused(v, new Uint8Array([1, 2, 3]), "malformed");
  await refused(v, new Uint8Array(0), "malformed");
  await refused(v, "not a pem", "malformed");
  const der = pemToDer(
    (await issuer.issue({ role: "USER", subject: "a", ttlSeconds: 60 }))
      .certPem,
  );
  await refused(v, der.subarray(0, der.length - 5), "malformed");
  const trailing = new Uint8Array([...der, 0]);
  await refused(v, trailing, "malformed");
  await refused(v, derToPem(der.subarray(4), "CERTIFICATE"), "malformed");
});

Deno.test("TokenVerifier: refuses a non-CA or unreadable CA certificate", async () => {
  const leaf = await issuer.issue({
    role: "USER",
    subject: "a",
    ttlSeconds: 60,
  });
  const e = assertThrows(() => new TokenVerifier(leaf.certPem), TokenError);
  assertEquals(e.reason, "not_ca");
  const e2 = assertThrows(() => new TokenVerifier("junk"), TokenError);
  assertEquals(e2.reason, "malformed");
  assertInstanceOf(e2, Error);
  assertEquals(e2.name, "TokenError");
});

Deno.test("verify: an RSA CA verifies its tokens", async () => {
  const rsaCa = await createCa({ algorithm: "rsa-2048" });
  const t = await (await TokenIssuer.fromPem(rsaCa)).issue({
    role: "HOST",
    subject: "h",
    ttlSeconds: 60,
  });
  const v = new TokenVerifier(rsaCa.certPem);
  assertEquals((await v.verify(t.certPem)).role, "HOST");
  const der = pemToDer(t.certPem);
  der[der.length - 1] ^= 0x80;
  await refused(v, der, "bad_signature");
  // An EC-signed token with the RSA CA's DN does not verify either.
  const twin = await issuer.issue({
    role: "HOST",
    subject: "h",
    ttlSeconds: 60,
  });
  await refused(v, twin.certPem, "bad_signature");
});

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (hay[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}
