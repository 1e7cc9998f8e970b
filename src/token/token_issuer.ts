/**
 * Issuing token certificates with the CA key.
 *
 * @module
 */
import {
  bytesEqual,
  namedBits,
  octetString,
  oid,
  seq,
  str,
  TAG,
  tlv,
} from "./_der.ts";
import { encodeTokenName, JOB_ID_RE, NAME_RE } from "./_dn.ts";
import {
  authorityKeyIdValue,
  checkKeyAlgorithm,
  generateKey,
  importPrivateKey,
  importPublicKey,
  keyFamily,
  keyId,
  randomSerial,
  sha256Hex,
  SIG_ALG,
  signTbs,
  verifySignature,
} from "./_keys.ts";
import {
  encodeCertificate,
  encodeTbs,
  extension,
  OID,
  parseCertificate,
  type ParsedCertificate,
} from "./_x509.ts";
import { type CaFiles, SKEW_SECONDS } from "./create_ca.ts";
import { derToPem, pemBlock, pemToDer } from "./pem.ts";
import { type KeyAlgorithm, type Role, ROLES } from "./role.ts";
import { TokenError } from "./token_error.ts";

/** What to put into a token certificate. */
export interface IssueOptions {
  /** Grid role, written as the DN's OU. */
  role: Role;
  /** CN: user, agent, host or (for JOB) usually the owner; [A-Za-z0-9._@:-], ≤ 64. */
  subject: string;
  /** Lifetime in seconds from now (ignored when `notAfter` is given). */
  ttlSeconds: number;
  /** JOB only, required: the job ID, written as `serialNumber`. */
  jobId?: string;
  /** JOB only, required: the job's owner, written as `UID`. */
  owner?: string;
  /** USER only: adds `title=admin`. @default false */
  admin?: boolean;
  /**
   * HOST only: extra subjectAltNames (DNS names or IP addresses) besides
   * 127.0.0.1, localhost and the subject when it is a host name.
   * @default []
   */
  hosts?: string[];
  /** Key algorithm of the token's key pair. @default "ecdsa-p256" */
  algorithm?: KeyAlgorithm;
  /** Start of validity, for tests. @default now − 60 s */
  notBefore?: Date;
  /** End of validity, overriding `ttlSeconds`, for tests. */
  notAfter?: Date;
}

/** A freshly issued token: certificate, key and its metadata. */
export interface IssuedToken {
  /** The certificate, PEM. */
  certPem: string;
  /** Its private key, PKCS#8 PEM. */
  keyPem: string;
  /** Serial number, lowercase hex (32 digits). */
  serial: string;
  /** Start of validity as written (whole seconds). */
  notBefore: Date;
  /** End of validity as written (whole seconds). */
  notAfter: Date;
  /** SHA-256 of the certificate DER, lowercase hex. */
  fingerprint: string;
}

const BC_LEAF = extension(OID.basicConstraints, true, seq());
// digitalSignature (0); RSA keys may also do key transport (2).
const KU_EC = extension(OID.keyUsage, true, namedBits([0]));
const KU_RSA = extension(OID.keyUsage, true, namedBits([0, 2]));
// A HOST certificate also authenticates its host as a client, as grid host
// certificates do: a site's pilot factory calls the broker with it.
const EKU_SERVER = extension(
  OID.extKeyUsage,
  false,
  seq(oid(OID.serverAuth), oid(OID.clientAuth)),
);
const EKU_CLIENT = extension(
  OID.extKeyUsage,
  false,
  seq(oid(OID.clientAuth)),
);

const HOST_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function ipv4(s: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? new Uint8Array(b) : undefined;
}

function ipv6(s: string): Uint8Array | undefined {
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (!s.includes(":") || !/^[0-9A-Fa-f:]+$/.test(s)) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (h: string) => h === "" ? [] : h.split(":");
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array(missing).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function sanEntry(host: string): Uint8Array {
  const ip = ipv4(host) ?? ipv6(host);
  if (ip) return tlv(0x87, ip);
  if (HOST_RE.test(host)) return str(0x82, host.toLowerCase());
  throw new TokenError(
    "invalid_input",
    `invalid host "${host}": expected a DNS name or an IPv4/IPv6 address`,
  );
}

function invalid(message: string): never {
  throw new TokenError("invalid_input", message);
}

function checkName(what: string, v: unknown, re: RegExp, set: string): string {
  if (typeof v !== "string" || !re.test(v)) {
    invalid(
      `invalid ${what} ${
        JSON.stringify(v)
      }: expected 1-64 characters of ${set}, starting with a letter or digit`,
    );
  }
  return v;
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/**
 * Issues token certificates signed by the CA.
 *
 * @example
 * ```ts
 * import { createCa, TokenIssuer } from "./mod.ts";
 * const issuer = await TokenIssuer.fromPem(await createCa());
 * const t = await issuer.issue({ role: "USER", subject: "alice", ttlSeconds: 3600 });
 * t.certPem; // "-----BEGIN CERTIFICATE-----\n…"
 * ```
 */
export class TokenIssuer {
  /** The CA certificate, PEM (hand it to clients as their trust anchor). */
  readonly caCertPem: string;
  #key: CryptoKey;
  #family: "ec" | "rsa";
  #ca: ParsedCertificate;
  #aki: Uint8Array | undefined;

  private constructor(
    caCertPem: string,
    ca: ParsedCertificate,
    key: CryptoKey,
    family: "ec" | "rsa",
  ) {
    this.caCertPem = caCertPem;
    this.#ca = ca;
    this.#key = key;
    this.#family = family;
    this.#aki = ca.ext.subjectKeyId
      ? extension(
        OID.authorityKeyId,
        false,
        authorityKeyIdValue(ca.ext.subjectKeyId),
      )
      : undefined;
  }

  /**
   * Loads a CA certificate and its PKCS#8 key.
   *
   * @throws {TokenError} `malformed` for unreadable PEM/DER, `not_ca` for a
   * certificate that is not a CA, `key_mismatch` for a key that is not the
   * certificate's.
   */
  static async fromPem(ca: CaFiles): Promise<TokenIssuer> {
    const certPem = pemBlock(ca.certPem, "CERTIFICATE", "CA certificate");
    const parsed = parseCertificate(pemToDer(certPem));
    if (!parsed.ext.basicConstraints?.ca) {
      throw new TokenError(
        "not_ca",
        "the CA certificate is not a CA (basicConstraints CA:true missing)",
      );
    }
    if (
      parsed.ext.keyUsage !== undefined && !(parsed.ext.keyUsage & (1 << 5))
    ) {
      throw new TokenError(
        "not_ca",
        "the CA certificate's keyUsage lacks keyCertSign",
      );
    }
    const family = keyFamily(parsed);
    const keyPem = pemBlock(ca.keyPem, "PRIVATE KEY", "CA key");
    const key = await importPrivateKey(pemToDer(keyPem), family);
    // A key from another CA would sign certificates nobody can verify:
    // catch that here with one probe signature rather than at first use.
    const probe = new Uint8Array(32);
    const sig = await signTbs(key, family, probe);
    const ok = await verifySignature(await importPublicKey(parsed), family, {
      ...parsed,
      sigAlg: family === "ec" ? OID.ecdsaWithSha256 : OID.sha256WithRsa,
      tbs: probe,
      signature: sig,
    });
    if (!ok) {
      throw new TokenError(
        "key_mismatch",
        "the CA key does not belong to the CA certificate",
      );
    }
    return new TokenIssuer(certPem, parsed, key, family);
  }

  /**
   * Issues a token: a fresh key pair and a certificate for it.
   *
   * @throws {TokenError} `invalid_input` naming the bad option.
   */
  async issue(opts: IssueOptions): Promise<IssuedToken> {
    const role = opts.role;
    if (!ROLES.includes(role)) {
      invalid(`invalid role "${role}": expected one of ${ROLES.join(", ")}`);
    }
    const subject = checkName(
      "subject",
      opts.subject,
      NAME_RE,
      "[A-Za-z0-9._@:-]",
    );
    let jobId: string | undefined;
    let owner: string | undefined;
    if (role === "JOB") {
      jobId = checkName("jobId", opts.jobId, JOB_ID_RE, "[A-Za-z0-9.:-]");
      owner = checkName("owner", opts.owner, NAME_RE, "[A-Za-z0-9._@:-]");
    } else if (opts.jobId !== undefined || opts.owner !== undefined) {
      invalid(`jobId and owner are only for role JOB, not ${role}`);
    }
    const admin = opts.admin ?? false;
    if (admin && role !== "USER") {
      invalid(`admin is only for role USER, not ${role}`);
    }
    if (opts.hosts?.length && role !== "HOST") {
      invalid(`hosts are only for role HOST, not ${role}`);
    }
    const alg = checkKeyAlgorithm(opts.algorithm ?? "ecdsa-p256", "issue");

    const now = Date.now();
    const notBefore = wholeSeconds(
      opts.notBefore?.getTime() ?? now - SKEW_SECONDS * 1000,
    );
    let notAfter: Date;
    if (opts.notAfter) {
      notAfter = wholeSeconds(opts.notAfter.getTime());
    } else {
      const ttl = opts.ttlSeconds;
      if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0) {
        invalid(
          `invalid ttlSeconds ${ttl}: expected a positive number of seconds`,
        );
      }
      notAfter = wholeSeconds(now + ttl * 1000);
    }
    if (!(notAfter > notBefore)) {
      invalid(
        `notAfter ${notAfter.toISOString()} is not after notBefore ${notBefore.toISOString()}`,
      );
    }
    if (notAfter > this.#ca.notAfter) {
      invalid(
        `the token would outlive the CA: notAfter ${notAfter.toISOString()} is after the CA's ${this.#ca.notAfter.toISOString()}`,
      );
    }

    const extensions = [
      BC_LEAF,
      alg === "ecdsa-p256" ? KU_EC : KU_RSA,
      role === "HOST" ? EKU_SERVER : EKU_CLIENT,
    ];
    if (role === "HOST") extensions.push(this.#san(subject, opts.hosts ?? []));
    const gen = await generateKey(alg);
    extensions.push(
      extension(
        OID.subjectKeyId,
        false,
        octetString(keyId(gen.publicKey)),
      ),
    );
    if (this.#aki) extensions.push(this.#aki);

    const serial = randomSerial();
    const sigAlg = SIG_ALG[this.#family];
    const tbs = encodeTbs({
      serial,
      sigAlg,
      issuer: this.#ca.subject.der,
      subject: encodeTokenName({ role, subject, jobId, owner, admin }),
      notBefore,
      notAfter,
      spki: gen.spki,
      extensions,
    });
    const der = encodeCertificate(
      tbs,
      sigAlg,
      await signTbs(this.#key, this.#family, tbs),
    );
    return {
      certPem: derToPem(der, "CERTIFICATE"),
      keyPem: derToPem(gen.pkcs8, "PRIVATE KEY"),
      serial: serial.toHex(),
      notBefore,
      notAfter,
      fingerprint: sha256Hex(der),
    };
  }

  #san(subject: string, hosts: readonly string[]): Uint8Array {
    const names: Uint8Array[] = [];
    const add = (e: Uint8Array) => {
      if (!names.some((n) => bytesEqual(n, e))) names.push(e);
    };
    add(tlv(0x87, new Uint8Array([127, 0, 0, 1])));
    add(str(0x82, "localhost"));
    if (HOST_RE.test(subject) || ipv4(subject)) add(sanEntry(subject));
    for (const h of hosts) add(sanEntry(h));
    return extension(OID.subjectAltName, false, tlv(TAG.SEQUENCE, ...names));
  }
}
