/**
 * Token certificate throughput: issue (fresh key pair + signed certificate)
 * and verify (cold and cached), beside `openssl speed ecdsap256` run in the
 * same process tree, plus `@peculiar/x509` for reference.
 *
 * ```sh
 * deno run --allow-run=openssl bench/tokens.ts [--seconds 3]
 * ```
 *
 * `benchTokens` returns one {@link BenchRow} per measure; each of ours
 * carries the openssl rate of the same run as `baseline` (sign/s for
 * issuing, verify/s for verifying) and `ratio` = ours / baseline. openssl
 * runs on one core; ours may use both (the 8-in-flight rows).
 *
 * @module
 */
import { parseFlags as parseArgs } from "../src/cli/cli_io.ts";
import {
  createCa,
  pemToDer,
  TokenIssuer,
  TokenVerifier,
} from "../src/token/mod.ts";
import type { BenchRow } from "./bench_row.ts";
import { formatTable } from "./format_table.ts";

/** Options of {@link benchTokens}. */
export interface BenchTokensOptions {
  /** Seconds per measure. @default 3 */
  seconds?: number;
}

const ISSUE_GOAL = 2000;
const VERIFY_GOAL = 5000;

/** Runs `fn` with `concurrency` loops in flight for `seconds`; ops/s. */
async function rate(
  seconds: number,
  concurrency: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number> {
  // Warm up the JIT and the crypto thread pool first.
  const warm = performance.now() + 300;
  for (let i = 0; performance.now() < warm; i++) await fn(i);
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await fn(n++);
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

/** Parses `openssl speed … ecdsap256` output: sign/s and verify/s. */
export function parseOpensslSpeed(
  text: string,
): { sign: number; verify: number } | undefined {
  const m =
    /256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/
      .exec(text);
  return m ? { sign: Number(m[1]), verify: Number(m[2]) } : undefined;
}

async function opensslSpeed(
  seconds: number,
): Promise<{ sign: number; verify: number } | undefined> {
  try {
    const out = await new Deno.Command("openssl", {
      // openssl takes whole seconds only.
      args: [
        "speed",
        "-seconds",
        String(Math.max(1, Math.round(seconds))),
        "ecdsap256",
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    return parseOpensslSpeed(new TextDecoder().decode(out.stdout));
  } catch {
    return undefined;
  }
}

/** Runs the measures; see the module doc. */
export async function benchTokens(
  opts: BenchTokensOptions = {},
): Promise<BenchRow[]> {
  const seconds = opts.seconds ?? 3;
  const ca = await createCa();
  const issuer = await TokenIssuer.fromPem(ca);
  const issueUser = () =>
    issuer.issue({ role: "USER", subject: "bench", ttlSeconds: 3600 });

  const issue1 = await rate(seconds, 1, issueUser);
  const issue8 = await rate(seconds, 8, issueUser);

  // Distinct certificates so the cold verifier really does the work.
  const certs: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    certs.push(pemToDer((await issueUser()).certPem));
  }
  const cold = new TokenVerifier(ca.certPem, { cacheSize: 0 });
  const verifyCold = (i: number) => cold.verify(certs[i % certs.length]);
  const cold1 = await rate(seconds, 1, verifyCold);
  const cold8 = await rate(seconds, 8, verifyCold);
  const warm = new TokenVerifier(ca.certPem);
  const cached1 = await rate(
    seconds,
    1,
    (i) => warm.verify(certs[i % 100]),
  );

  // The general-purpose library, for reference (why we encode DER
  // ourselves); loaded only here, as it patches the global Reflect.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(crypto);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    pemToDer(ca.keyPem) as Uint8Array<ArrayBuffer>,
    alg,
    false,
    ["sign"],
  );
  const libSeconds = Math.min(seconds, 1);
  const libIssue = await rate(libSeconds, 8, async () => {
    const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
    await x509.X509CertificateGenerator.create({
      subject: "O=splitpilot, OU=USER, CN=bench",
      issuer: caCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: alg,
      notAfter: new Date(Date.now() + 3600_000),
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    });
    await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  });
  const libVerify = await rate(libSeconds, 8, async (i) => {
    const c = new x509.X509Certificate(
      certs[i % certs.length] as Uint8Array<ArrayBuffer>,
    );
    await c.verify({ publicKey: caCert.publicKey, signatureOnly: true });
  });

  const ossl = await opensslSpeed(seconds);
  const vs = (ours: number, base: number | undefined) =>
    base ? { baseline: Math.round(base), ratio: ours / base } : {};
  const osslNote = (what: "sign" | "verify") =>
    ossl ? `; baseline: openssl ecdsap256 ${what}/s, 1 core` : "";
  const unit = "ops/s";
  return [
    {
      measure: "issue: fresh P-256 key + signed cert, 1 in flight",
      ours: Math.round(issue1),
      unit,
      ...vs(issue1, ossl?.sign),
      goal: `≥ ${ISSUE_GOAL}`,
      met: issue1 >= ISSUE_GOAL,
      note: "latency-bound: keygen + CA sign (Web Crypto) in sequence" +
        osslNote("sign"),
    },
    {
      measure: "issue: fresh P-256 key + signed cert, 8 in flight",
      ours: Math.round(issue8),
      unit,
      ...vs(issue8, ossl?.sign),
      goal: `≥ ${ISSUE_GOAL}`,
      met: issue8 >= ISSUE_GOAL,
      note: "Web Crypto runs on a thread pool: both cores busy" +
        osslNote("sign"),
    },
    {
      measure: "issue with @peculiar/x509, 8 in flight (reference)",
      ours: Math.round(libIssue),
      unit,
      ...vs(libIssue, ossl?.sign),
    },
    {
      measure: "verify cold (no cache), 1 in flight",
      ours: Math.round(cold1),
      unit,
      ...vs(cold1, ossl?.verify),
      goal: `≥ ${VERIFY_GOAL}`,
      met: cold1 >= VERIFY_GOAL,
      note: "latency-bound: one Web Crypto ECDSA verify per call" +
        osslNote("verify"),
    },
    {
      measure: "verify cold (no cache), 8 in flight",
      ours: Math.round(cold8),
      unit,
      ...vs(cold8, ossl?.verify),
      goal: `≥ ${VERIFY_GOAL}`,
      met: cold8 >= VERIFY_GOAL,
    },
    {
      measure: "verify cached (LRU hit + validity check), 1 in flight",
      ours: Math.round(cached1),
      unit,
      ...vs(cached1, ossl?.verify),
      goal: `≥ ${VERIFY_GOAL}`,
      met: cached1 >= VERIFY_GOAL,
    },
    {
      measure: "verify with @peculiar/x509, 8 in flight (reference)",
      ours: Math.round(libVerify),
      unit,
      ...vs(libVerify, ossl?.verify),
    },
    ...(ossl ? [] : [{
      measure: "openssl speed ecdsap256",
      ours: 0,
      unit,
      note: "openssl not available: no baseline",
    }]),
  ];
}

if (import.meta.main) {
  const flags = parseArgs(Deno.args, { string: ["seconds"] });
  const seconds = flags.seconds === undefined ? 3 : Number(flags.seconds);
  if (!(seconds > 0)) {
    console.error(
      `error: --seconds ${flags.seconds}: expected a positive number`,
    );
    Deno.exit(2);
  }
  const rows = await benchTokens({ seconds });
  console.log(formatTable(rows));
  console.log(
    "\nopenssl: `openssl speed -seconds N ecdsap256`, one core; sign/s is the baseline for issue, verify/s for verify.",
  );
}
