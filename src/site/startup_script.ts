/**
 * The batch-queue startup script (DESIGN §1; JAliEn's Fig. 1): one
 * self-contained POSIX sh file a site submits as a batch job.
 *
 * It embeds a JOB_AGENT token (certificate and key) and the CA
 * certificate, and the sha-256 of the agent and wrapper artefacts it was
 * made for. When it runs it:
 *
 * 1. makes a private work dir (`umask 077`, `mktemp -d`) and writes the
 *    token into `W/token/` (key 0600);
 * 2. fetches `splitpilot-agent.run` and `splitpilot-wrapper.run` from the
 *    broker (`GET /api/v1/artefacts/<name>`, curl with the token as client
 *    certificate and the CA as the only trust anchor) and refuses any whose
 *    sha-256 differs from the embedded one;
 * 3. starts the agent (`splitpilot-agent.run W --cores N --ttl T …` plus
 *    the script's own arguments), forwards SIGTERM/SIGINT/SIGHUP to it
 *    (preemption), and waits;
 * 4. removes the work dir, token included, on every exit (trap).
 *
 * @module
 */
import { artefactName } from "../build/site_layout.ts";

/** Inputs of {@link renderStartupScript}. */
export interface StartupScriptOptions {
  /** Broker `host:port`. */
  broker: string;
  /** The JOB_AGENT token. */
  token: { certPem: string; keyPem: string };
  /** CA certificate PEM. */
  caPem: string;
  /** SHA-256 of the agent artefact. */
  agentSha256: string;
  /** SHA-256 of the wrapper artefact. */
  wrapperSha256: string;
  /**
   * Cores of the slot. Omitted (with `ttlSeconds`): the agent reads the
   * slot from the batch system (src/agent/batch_slot.ts), as pilots a
   * factory submits do.
   */
  cores?: number;
  /** Slot lifetime, s. Omitted: from the batch system. */
  ttlSeconds?: number;
  /** Site name (agent `--site`). @default "local" */
  site?: string;
  /** CE name (agent `--ce`). @default none */
  ce?: string;
  /** When the token expires (shown in the header). */
  tokenNotAfter?: Date;
  /** More agent flags, fixed in the script (e.g. `--containers bwrap`). */
  agentArgs?: string[];
}

const PEM_END = "SPLITPILOT_PEM_END";

function pemHeredoc(file: string, pem: string): string[] {
  const text = pem.trim();
  if (
    !/^-----BEGIN [A-Z ]+-----\n[A-Za-z0-9+/=\n]+\n-----END [A-Z ]+-----$/.test(
      text,
    )
  ) {
    throw new TypeError(`${file}: expected one PEM block`);
  }
  return [`cat > "$SP_WORK/token/${file}" <<'${PEM_END}'`, text, PEM_END];
}

/** Single-quotes `s` for sh. */
function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Renders the startup script text. */
export function renderStartupScript(opts: StartupScriptOptions): string {
  if (!/^[^\s'"]+:\d{1,5}$/.test(opts.broker)) {
    throw new TypeError(
      `broker ${opts.broker}: expected HOST:PORT, e.g. broker.example.org:8443`,
    );
  }
  for (
    const [k, v] of [["agent", opts.agentSha256], [
      "wrapper",
      opts.wrapperSha256,
    ]]
  ) {
    if (!/^[0-9a-f]{64}$/.test(v)) {
      throw new TypeError(`${k} sha-256 "${v}": expected 64 hex digits`);
    }
  }
  if (
    opts.cores !== undefined &&
    (!Number.isInteger(opts.cores) || opts.cores < 1)
  ) {
    throw new TypeError(`cores ${opts.cores}: expected an integer >= 1`);
  }
  if (
    opts.ttlSeconds !== undefined &&
    (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1)
  ) {
    throw new TypeError(`ttl ${opts.ttlSeconds}: expected whole seconds >= 1`);
  }
  const agent = artefactName("agent");
  const wrapper = artefactName("wrapper");
  const agentArgs = [
    ...(opts.cores !== undefined ? ["--cores", String(opts.cores)] : []),
    ...(opts.ttlSeconds !== undefined
      ? ["--ttl", String(opts.ttlSeconds)]
      : []),
    "--site",
    opts.site ?? "local",
    ...(opts.ce ? ["--ce", opts.ce] : []),
    ...(opts.agentArgs ?? []),
  ].map(q).join(" ");
  return [
    "#!/bin/sh",
    `# splitpilot startup script for site ${
      opts.site ?? "local"
    }, broker ${opts.broker}.`,
    "# Submit it to the batch queue as is (e.g. sbatch FILE). It fetches the",
    "# agent and wrapper from the broker, checks their sha-256, runs the agent",
    "# in a private work dir and removes that dir on exit. Arguments are",
    "# passed on to the agent.",
    `# It holds a JOB_AGENT token${
      opts.tokenNotAfter
        ? ` (valid until ${opts.tokenNotAfter.toISOString()})`
        : ""
    }: keep this file private.`,
    "# Needs: curl, mktemp, sha256sum (or openssl), tail, head, gzip.",
    "set -eu",
    "umask 077",
    `SP_BROKER=${q(opts.broker)}`,
    `SP_AGENT_SHA256=${opts.agentSha256}`,
    `SP_WRAPPER_SHA256=${opts.wrapperSha256}`,
    "sp_say() { printf 'splitpilot-startup: %s\\n' \"$*\" >&2; }",
    'sp_die() { sp_say "error: $*"; exit 1; }',
    'command -v curl >/dev/null 2>&1 || sp_die "curl is required to fetch the agent"',
    "sp_sha256() {",
    "  if command -v sha256sum >/dev/null 2>&1; then",
    '    set -- $(sha256sum "$1")',
    "  elif command -v openssl >/dev/null 2>&1; then",
    '    set -- $(openssl dgst -sha256 -r "$1")',
    "  else",
    '    sp_die "sha256sum or openssl is required to check the artefacts"',
    "  fi",
    "  printf '%s\\n' \"$1\"",
    "}",
    "# Slurm before 23.02 does not tell the job its end time: ask squeue.",
    'if [ -n "${SLURM_JOB_ID:-}" ] && [ -z "${SLURM_JOB_END_TIME:-}" ] && command -v squeue >/dev/null 2>&1; then',
    '  sp_end=$(squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null || :)',
    '  sp_end=$(date -d "$sp_end" +%s 2>/dev/null || :)',
    '  [ -z "$sp_end" ] || { SLURM_JOB_END_TIME=$sp_end; export SLURM_JOB_END_TIME; }',
    "fi",
    "# The work dir goes on the node's local scratch.",
    'SP_WORK=$(mktemp -d "${SLURM_TMPDIR:-${TMPDIR:-/tmp}}/splitpilot.XXXXXXXX") || sp_die "mktemp -d failed"',
    "sp_pid=",
    "sp_cleanup() {",
    "  sp_rc=$?",
    "  trap - EXIT HUP INT TERM",
    '  if [ -n "$sp_pid" ]; then',
    '    kill -TERM "$sp_pid" 2>/dev/null || :',
    '    wait "$sp_pid" 2>/dev/null || :',
    "  fi",
    '  rm -rf -- "$SP_WORK"',
    '  exit "$sp_rc"',
    "}",
    "sp_forward() {",
    '  if [ -n "$sp_pid" ]; then',
    '    sp_say "$1: passing it on to the agent (preemption)"',
    '    kill -TERM "$sp_pid" 2>/dev/null || :',
    "  else",
    "    exit 143",
    "  fi",
    "}",
    "trap sp_cleanup EXIT",
    "trap 'sp_forward TERM' TERM",
    "trap 'sp_forward INT' INT",
    "trap 'sp_forward HUP' HUP",
    'mkdir "$SP_WORK/token"',
    ...pemHeredoc("cert.pem", opts.token.certPem),
    ...pemHeredoc("key.pem", opts.token.keyPem),
    ...pemHeredoc("ca.pem", opts.caPem),
    'chmod 600 "$SP_WORK/token/cert.pem" "$SP_WORK/token/key.pem" "$SP_WORK/token/ca.pem"',
    "sp_fetch() { # name sha256",
    '  sp_say "fetching $1 from https://$SP_BROKER"',
    "  curl --silent --show-error --fail --proto =https --retry 3 --connect-timeout 30 \\",
    '    --cacert "$SP_WORK/token/ca.pem" --cert "$SP_WORK/token/cert.pem" \\',
    '    --key "$SP_WORK/token/key.pem" --output "$SP_WORK/$1" \\',
    '    "https://$SP_BROKER/api/v1/artefacts/$1" || sp_die "could not fetch $1"',
    '  sp_got=$(sp_sha256 "$SP_WORK/$1")',
    '  [ "$sp_got" = "$2" ] || sp_die "$1: sha-256 $sp_got, expected $2 (not the build this script was made for)"',
    '  chmod 700 "$SP_WORK/$1"',
    "}",
    `sp_fetch ${agent} "$SP_AGENT_SHA256"`,
    `sp_fetch ${wrapper} "$SP_WRAPPER_SHA256"`,
    'sp_say "starting the agent in $SP_WORK"',
    `"$SP_WORK/${agent}" "$SP_WORK" ${agentArgs} "$@" &`,
    "sp_pid=$!",
    "while :; do",
    "  # wait returns early when a trapped signal arrives; the agent may live on.",
    '  sp_rc=0; wait "$sp_pid" || sp_rc=$?',
    '  kill -0 "$sp_pid" 2>/dev/null || break',
    "done",
    "sp_pid=",
    'sp_say "agent exited with code $sp_rc"',
    'exit "$sp_rc"',
    "",
  ].join("\n");
}
