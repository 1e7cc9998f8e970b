/**
 * `splitpilot token issue|show`: issue token certificates with the CA in a
 * state directory, and inspect them.
 *
 * - `token issue --state DIR --role ROLE --subject NAME --ttl 12h --out OUTDIR
 *   [--job-id ID --owner USER] [--admin] [--host NAME]... [--algorithm ALG]`
 *   writes `OUTDIR/cert.pem`, `OUTDIR/key.pem` (0600) and `OUTDIR/ca.pem`,
 *   replacing earlier ones (re-issuing into the same directory renews).
 * - `token show FILE [--ca CA_PEM] [--json]` prints DN, role, subject, job
 *   ID, owner, admin flag, serial, validity, remaining lifetime, SHA-256
 *   fingerprint and, with `--ca`, whether it verifies against that CA.
 *
 * Exit codes: 0 ok, 1 failure (including a token that does not verify
 * against `--ca`), 2 bad usage or input (bad flag, malformed PEM, a
 * certificate that is not a token).
 *
 * @module
 */
import {
  type KeyAlgorithm,
  parseDuration,
  readPemFile,
  type Role,
  ROLES,
  TokenError,
  type TokenIdentity,
  tokenIdentity,
  TokenIssuer,
  TokenVerifier,
} from "../token/mod.ts";
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags as parseArgs,
  UsageError,
  wantsJson,
} from "./cli_io.ts";

/** Usage text. */
export const TOKEN_USAGE = `usage:
  splitpilot token issue --state DIR --role ${
  ROLES.join("|")
} --subject NAME --ttl DURATION --out OUTDIR
        [--job-id ID --owner USER] [--admin] [--host NAME]... [--algorithm ecdsa-p256|rsa-2048|rsa-3072]
  splitpilot token show FILE [--ca CA_PEM] [--json]
examples:
  splitpilot token issue --state ~/.splitpilot/state --role USER --subject jdoe --ttl 12h --out ~/.splitpilot/user
  splitpilot token issue --state ~/.splitpilot/state --role JOB_AGENT --subject site1 --ttl 12h --out agent
  splitpilot token show ~/.splitpilot/user/cert.pem --ca ~/.splitpilot/state/ca/ca.pem`;

/**
 * Runs `token issue|show`: issues a token certificate from the CA, or
 * prints what a token certificate claims. Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./token_cmd.ts";
 * Deno.exit(await main(["show", "/home/jdoe/.splitpilot/user/cert.pem"]));
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  try {
    const [sub, ...rest] = args;
    switch (sub) {
      case "issue":
        return await issue(rest, io);
      case "show":
        return await show(rest, io);
      case "-h":
      case "--help":
      case "help":
        io.out(TOKEN_USAGE);
        return 0;
      case undefined:
        throw new UsageError(`missing subcommand (expected issue or show)`);
      default:
        throw new UsageError(
          `unknown subcommand "${sub}" (expected issue or show)`,
        );
    }
  } catch (e) {
    return fail(io, e, { json: wantsJson(args) });
  }
}

function required(flags: Record<string, unknown>, name: string): string {
  const v = flags[name];
  if (typeof v !== "string" || v === "") {
    throw new UsageError(`token issue: --${name} is required`);
  }
  return v;
}

async function issue(args: string[], io: CliIo): Promise<number> {
  const flags = parseArgs(args, {
    string: [
      "state",
      "role",
      "subject",
      "ttl",
      "out",
      "job-id",
      "owner",
      "algorithm",
    ],
    collect: ["host"],
    boolean: ["admin", "help"],
  });
  if (flags.help) {
    io.out(TOKEN_USAGE);
    return 0;
  }
  if (flags._.length) {
    throw new UsageError(`token issue: unexpected argument "${flags._[0]}"`);
  }
  const state = required(flags, "state");
  const role = required(flags, "role").toUpperCase() as Role;
  if (!ROLES.includes(role)) {
    throw new UsageError(
      `--role ${flags.role}: expected one of ${ROLES.join(", ")}`,
    );
  }
  const subject = required(flags, "subject");
  const ttl = parseDuration(required(flags, "ttl"));
  const out = required(flags, "out");
  if (role === "JOB" && (!flags["job-id"] || !flags.owner)) {
    throw new UsageError("token issue: role JOB needs --job-id and --owner");
  }

  const issuer = await TokenIssuer.fromPem({
    certPem: await readPemFile(`${state}/ca/ca.pem`, "CERTIFICATE"),
    keyPem: await readPemFile(`${state}/ca/ca.key`, "PRIVATE KEY"),
  });
  const t = await issuer.issue({
    role,
    subject,
    ttlSeconds: ttl,
    jobId: flags["job-id"],
    owner: flags.owner,
    admin: flags.admin || undefined,
    hosts: flags.host,
    algorithm: flags.algorithm as KeyAlgorithm | undefined,
  });

  await Deno.mkdir(out, { recursive: true, mode: 0o700 });
  await writeAtomic(`${out}/key.pem`, t.keyPem, 0o600);
  await writeAtomic(`${out}/cert.pem`, t.certPem, 0o644);
  await writeAtomic(`${out}/ca.pem`, issuer.caCertPem, 0o644);
  io.out(
    `issued ${role} token for ${subject} in ${out}: cert.pem, key.pem (0600), ca.pem`,
  );
  for (const line of describe(tokenIdentity(t.certPem), new Date())) {
    io.out(`  ${line}`);
  }
  return 0;
}

/**
 * Writes a file via a fresh temp file and rename, so the key never exists
 * with wider permissions and readers never see half a file.
 */
async function writeAtomic(
  path: string,
  text: string,
  mode: number,
): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(tmp, text, { createNew: true, mode });
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

const UNITS: readonly [string, number][] = [
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
];

/** "11h 59m", "3d 4h", "42s": the largest unit and the next one. */
function formatSeconds(total: number): string {
  let rest = Math.floor(Math.abs(total));
  const i = UNITS.findIndex(([, size]) => rest >= size);
  if (i < 0) return "0s";
  const [u1, s1] = UNITS[i];
  const n1 = Math.floor(rest / s1);
  rest -= n1 * s1;
  const next = UNITS[i + 1];
  const n2 = next ? Math.floor(rest / next[1]) : 0;
  return n2 ? `${n1}${u1} ${n2}${next[0]}` : `${n1}${u1}`;
}

function remaining(id: TokenIdentity, now: Date): string {
  const t = now.getTime();
  if (t < id.notBefore.getTime()) {
    return `not yet valid (starts in ${
      formatSeconds((id.notBefore.getTime() - t) / 1000)
    })`;
  }
  if (t > id.notAfter.getTime()) {
    return `expired ${formatSeconds((t - id.notAfter.getTime()) / 1000)} ago`;
  }
  return formatSeconds((id.notAfter.getTime() - t) / 1000);
}

function describe(id: TokenIdentity, now: Date): string[] {
  return [
    `dn:          ${id.dn}`,
    `role:        ${id.role}`,
    `subject:     ${id.subject}`,
    `job ID:      ${id.jobId ?? "-"}`,
    `owner:       ${id.owner ?? "-"}`,
    `admin:       ${id.admin ? "yes" : "no"}`,
    `serial:      ${id.serial}`,
    `not before:  ${id.notBefore.toISOString()}`,
    `not after:   ${id.notAfter.toISOString()}`,
    `remaining:   ${remaining(id, now)}`,
    `sha256:      ${id.fingerprint}`,
  ];
}

async function show(args: string[], io: CliIo): Promise<number> {
  const flags = parseArgs(args, { string: ["ca"], boolean: ["json", "help"] });
  if (flags.help) {
    io.out(TOKEN_USAGE);
    return 0;
  }
  const [file, extra] = flags._;
  if (file === undefined) {
    throw new UsageError(`token show: FILE is required`);
  }
  if (extra !== undefined) {
    throw new UsageError(`token show: unexpected argument "${extra}"`);
  }
  const pem = await readPemFile(file, "CERTIFICATE");
  let id: TokenIdentity;
  try {
    id = tokenIdentity(pem);
  } catch (e) {
    if (e instanceof TokenError) {
      throw new TokenError(e.reason, `${file}: not a token: ${e.message}`);
    }
    throw e;
  }
  const now = new Date();
  let verified:
    | { ok: true }
    | { ok: false; reason: string; message: string }
    | undefined;
  if (flags.ca !== undefined) {
    const verifier = new TokenVerifier(
      await readPemFile(flags.ca, "CERTIFICATE"),
    );
    try {
      await verifier.verify(pem, { now });
      verified = { ok: true };
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      verified = { ok: false, reason: e.reason, message: e.message };
    }
  }
  if (flags.json) {
    io.out(JSON.stringify(
      {
        dn: id.dn,
        role: id.role,
        subject: id.subject,
        jobId: id.jobId ?? null,
        owner: id.owner ?? null,
        admin: id.admin,
        serial: id.serial,
        notBefore: id.notBefore.toISOString(),
        notAfter: id.notAfter.toISOString(),
        remainingSeconds: Math.floor(
          (id.notAfter.getTime() - now.getTime()) / 1000,
        ),
        fingerprint: id.fingerprint,
        ...(verified && {
          verified: verified.ok,
          ...(!verified.ok &&
            {
              verifyError: {
                reason: verified.reason,
                message: verified.message,
              },
            }),
        }),
      },
      null,
      2,
    ));
  } else {
    for (const line of describe(id, now)) io.out(line);
    if (verified) {
      io.out(
        `verifies:    ${
          verified.ok
            ? `yes, against ${flags.ca}`
            : `NO, against ${flags.ca}: ${verified.reason}: ${verified.message}`
        }`,
      );
    }
  }
  return verified && !verified.ok ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
