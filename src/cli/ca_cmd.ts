/**
 * `splitpilot ca init`: creates the token CA in a state directory.
 *
 * Writes `DIR/ca/ca.pem` (certificate, 0644) and `DIR/ca/ca.key`
 * (PKCS#8 key, 0600). Both are created exclusively: an existing CA is never
 * overwritten, since every token ever issued hangs on that key.
 *
 * Exit codes: 0 created, 1 failure (e.g. a CA already exists), 2 bad usage.
 *
 * @module
 */
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import {
  certificateInfo,
  createCa,
  type KeyAlgorithm,
  TokenError,
} from "../token/mod.ts";

/** Usage text. */
export const CA_USAGE =
  `usage: splitpilot ca init --state DIR [--algorithm ecdsa-p256|rsa-2048|rsa-3072] [--subject NAME]
  creates DIR/ca/ca.pem and DIR/ca/ca.key (0600); never overwrites a CA
examples:
  splitpilot ca init --state ~/.splitpilot/state
  splitpilot ca init --state /srv/broker --algorithm rsa-3072`;

/**
 * Runs `ca init`: creates the token CA in the state dir (key 0600) and
 * refuses to overwrite one. Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./ca_cmd.ts";
 * Deno.exit(await main(["init", "--state", "/var/lib/splitpilot"]));
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let state: string;
  let algorithm: KeyAlgorithm;
  let subject: string | undefined;
  try {
    const flags = parseFlags(args, {
      string: ["state", "algorithm", "subject"],
      boolean: ["help"],
      alias: { h: "help" },
    });
    if (flags.help) {
      io.out(CA_USAGE);
      return 0;
    }
    const [sub, ...extra] = flags._;
    if (sub !== "init") {
      throw new UsageError(
        sub === undefined
          ? `missing subcommand (expected init)`
          : `unknown subcommand "${sub}" (expected init)`,
      );
    }
    if (extra.length) {
      throw new UsageError(`unexpected argument "${extra[0]}"`);
    }
    if (!flags.state) {
      throw new UsageError(`--state DIR is required`);
    }
    state = flags.state;
    algorithm = (flags.algorithm ?? "ecdsa-p256") as KeyAlgorithm;
    if (!["ecdsa-p256", "rsa-2048", "rsa-3072"].includes(algorithm)) {
      throw new UsageError(
        `--algorithm ${algorithm}: expected ecdsa-p256, rsa-2048 or rsa-3072`,
      );
    }
    subject = flags.subject;
  } catch (e) {
    return fail(io, e, { json: wantsJson(args) });
  }

  const dir = `${state}/ca`;
  const certPath = `${dir}/ca.pem`;
  const keyPath = `${dir}/ca.key`;
  try {
    for (const p of [keyPath, certPath]) {
      if (await exists(p)) {
        io.err(`error: ${p} already exists; refusing to overwrite the CA`);
        return 1;
      }
    }
    let ca;
    try {
      ca = await createCa({ algorithm, subject });
    } catch (e) {
      if (e instanceof TokenError) {
        io.err(`error: ${e.message}`);
        return 2;
      }
      throw e;
    }
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    // createNew makes the existence check race-free: two concurrent inits
    // cannot both win.
    await Deno.writeTextFile(keyPath, ca.keyPem, {
      createNew: true,
      mode: 0o600,
    });
    await Deno.chmod(keyPath, 0o600);
    try {
      await Deno.writeTextFile(certPath, ca.certPem, {
        createNew: true,
        mode: 0o644,
      });
    } catch (e) {
      await Deno.remove(keyPath).catch(() => {});
      throw e;
    }
    const info = certificateInfo(ca.certPem);
    io.out(`created CA in ${dir}: ca.pem, ca.key (0600)`);
    io.out(`  subject:    ${info.subject}`);
    io.out(`  key:        ${info.key}`);
    io.out(`  not after:  ${info.notAfter.toISOString()}`);
    io.out(`  sha256:     ${info.fingerprint}`);
    return 0;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      io.err(`error: a CA already exists in ${dir}; refusing to overwrite it`);
    } else {
      io.err(`error: ${(e as Error).message}`);
    }
    return 1;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
