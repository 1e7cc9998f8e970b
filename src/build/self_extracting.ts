/**
 * Packs one role into one file: a POSIX sh header followed by the gzipped
 * Deno runtime, the role's bundle and its fixed-permission launcher.
 *
 * The header unpacks with coreutils and `gzip` only (present on every batch
 * node and in minimal images), each called by its absolute path, never
 * through `PATH`, into a directory holding `deno`, `<role>.js`, `run` and
 * (agent) `helpers/`. The SHA-256 of every file is written into the
 * header, and the unpacked files are checked against those hashes before
 * each start, never trusted for a stamp: a tampered or foreign directory is
 * replaced by a fresh unpack. The parent directories (`W` and `W/rt`) must
 * belong to the current user and be writable by nobody else, or the header
 * refuses to start. An unpack goes into a fresh private directory
 * (`mktemp -d`), is checked there, and is renamed into place. Commands of a
 * packed file:
 *
 * - `FILE --unpack DIR` unpacks (used by the agent for the wrapper);
 * - `FILE --info` prints role, broker, runtime version and the launcher;
 * - agent: `FILE W [agent flags]` unpacks itself into `W/rt/agent`, the
 *   wrapper found at `W/splitpilot-wrapper.run` into `W/rt/wrapper`, and
 *   starts `W/rt/agent/run W …`;
 * - broker: `FILE STATE [splitpilot args]` unpacks into `STATE/rt/broker`
 *   and starts it;
 * - wrapper: only `--unpack` and `--info` (the agent starts the wrapper).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ProcessRole } from "../permissions/table.ts";
import { artefactName, bundleName } from "./site_layout.ts";

/** Inputs of {@link packArtefact}. */
export interface PackInput {
  /** The role. */
  role: ProcessRole;
  /** Broker `host:port` it was built for. */
  broker: string;
  /** Deno version of the runtime. */
  denoVersion: string;
  /** Path of the gzipped runtime. */
  runtimeGz: string;
  /** SHA-256 of the gzipped runtime (hex). */
  runtimeGzSha256: string;
  /** The bundle. */
  bundle: Uint8Array;
  /** The launcher script text. */
  launcher: string;
  /** SHA-256 of the uncompressed runtime (hex). */
  runtimeSha256: string;
  /** Extra files unpacked below the directory: relative path → content. */
  extras?: Record<string, Uint8Array>;
  /** Output file. */
  out: string;
}

/** What {@link packArtefact} wrote. */
export interface PackedArtefact {
  /** Output file. */
  path: string;
  /** SHA-256 of the whole file (hex). */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** Identity of the unpacked content (runtime + bundle + launcher). */
  stamp: string;
}

function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The role-specific part of the header (after the helpers). */
function roleMain(role: ProcessRole): string[] {
  const usageWork = role === "broker" ? "STATE" : "WORKDIR";
  if (role === "wrapper") {
    return [
      `sp_die "the wrapper is started by the agent; unpack it with: $0 --unpack DIR, then run DIR/run SANDBOX"`,
    ];
  }
  const lines = [
    `[ $# -ge 1 ] || sp_die "usage: $0 ${usageWork} [arguments] | --unpack DIR | --info"`,
    `case $1 in /*) ;; *) sp_die "${usageWork} must be an absolute path, got: $1" ;; esac`,
    `[ -d "$1" ] || sp_die "${usageWork} $1 is not a directory"`,
    'sp_w=$(cd -P -- "$1" && pwd -P)',
    "shift",
    'sp_private "$sp_w"',
    '[ -d "$sp_w/rt" ] || "$sp_mkdir" -m 700 -- "$sp_w/rt"',
    'sp_private "$sp_w/rt"',
    `sp_unpack "$sp_w/rt/${role}"`,
  ];
  if (role === "agent") {
    const wrapper = artefactName("wrapper");
    lines.push(
      `if [ -f "$sp_w/${wrapper}" ]; then`,
      `  "$sp_sh" "$sp_w/${wrapper}" --unpack "$sp_w/rt/wrapper"`,
      "fi",
      `[ -x "$sp_w/rt/wrapper/run" ] || sp_die "no wrapper: expected $sp_w/${wrapper} (or an unpacked one in $sp_w/rt/wrapper)"`,
    );
  }
  lines.push(`PATH=$sp_oldpath exec "$sp_w/rt/${role}/run" "$sp_w" "$@"`);
  return lines;
}

/** One file inside the artefact, in payload order. */
interface Part {
  /** Path below the unpacked directory. */
  name: string;
  /** Bytes in the payload. */
  len: number;
  /** Stored gzipped (unpacked with `gzip -dc`). */
  gz: boolean;
  /** File mode after the unpack (octal text). */
  mode: string;
  /** SHA-256 of the unpacked file (hex). */
  sha256: string;
}

/** The tools the header runs, each by absolute path. */
const TOOLS = [
  "tail",
  "head",
  "gzip",
  "sha256sum",
  "mktemp",
  "mkdir",
  "mv",
  "rm",
  "chmod",
  "stat",
  "id",
];

function header(
  input: PackInput,
  stamp: string,
  offset: number,
  parts: Part[],
): string {
  const name = artefactName(input.role);
  const bundle = bundleName(input.role);
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts) {
    offsets.push(at);
    at += p.len;
  }
  const launcher = parts.findIndex((p) => p.name === "run");
  const dirs = [
    ...new Set(
      parts.filter((p) => p.name.includes("/")).map((p) =>
        p.name.slice(0, p.name.lastIndexOf("/"))
      ),
    ),
  ];
  const lines = [
    "#!/bin/sh",
    `# ${name}: splitpilot ${input.role}, offline form: Deno ${input.denoVersion}`,
    `# runtime + ${bundle} + fixed-permission launcher, for broker ${input.broker}.`,
    `# Checksum: ${name}.sha256. Generated by scripts/build.ts; do not edit`,
    "# (the payload offsets and file hashes below are exact).",
    "set -eu",
    "umask 077",
    "unset CDPATH ENV BASH_ENV",
    `SP_ROLE=${input.role}`,
    `SP_BROKER=${input.broker}`,
    `SP_DENO_VERSION=${input.denoVersion}`,
    `SP_STAMP=${stamp}`,
    `SP_OFFSET=${offset}`,
    "sp_oldpath=${PATH-}",
    "PATH=/usr/bin:/bin",
    `sp_die() { printf '${name}: %s\\n' "$1" >&2; exit 2; }`,
    "sp_tool() { # name: its absolute path in /usr/bin or /bin",
    '  for sp_d in /usr/bin /bin; do [ -x "$sp_d/$1" ] && { printf \'%s\\n\' "$sp_d/$1"; return 0; }; done',
    '  sp_die "needs $1 in /usr/bin or /bin"',
    "}",
    ...TOOLS.map((t) => `sp_${t}=$(sp_tool ${t})`),
    "sp_sh=/bin/sh",
    '[ -x "$sp_sh" ] || sp_die "needs /bin/sh"',
    'sp_uid=$("$sp_id" -u)',
    'case $0 in /*) sp_self=$0 ;; */*) sp_self=$(pwd -P)/$0 ;; *) sp_self=$(command -v -- "$0") ;; esac',
    "sp_part() { # offset length: the bytes of one payload part",
    '  "$sp_tail" -c +"$(( SP_OFFSET + $1 + 1 ))" -- "$sp_self" | "$sp_head" -c "$2"',
    "}",
    "sp_owned() { # dir: a real directory of ours that nobody else may write",
    '  [ -d "$1" ] && [ ! -L "$1" ] || return 1',
    '  sp_st=$("$sp_stat" -c \'%u %a\' -- "$1") || return 1',
    '  [ "${sp_st%% *}" = "$sp_uid" ] || return 1',
    "  [ $(( 0${sp_st#* } & 18 )) -eq 0 ]",
    "}",
    "sp_private() { # dir: refuse one that is not sp_owned",
    '  sp_owned "$1" || sp_die "refusing $1: it must be a directory owned by the current user (uid $sp_uid) and not writable by group or others (found: ${sp_st:-none})"',
    "}",
    "sp_verify() { # dir: every file has the hash it was built with",
    '  sp_owned "$1" || return 1',
    '  ( cd -P -- "$1" && "$sp_sha256sum" --status --strict -c - ) <<SP_SUMS',
    ...parts.map((p) => `${p.sha256}  ${p.name}`),
    "SP_SUMS",
    "}",
    "sp_unpack() { # dir: checked files, else a fresh private unpack",
    '  sp_verify "$1" && return 0',
    '  sp_private "${1%/*}"',
    '  sp_tmp=$("$sp_mktemp" -d -- "${1%/*}/.unpack.XXXXXXXX") || sp_die "cannot create a private directory next to $1"',
    ...dirs.map((d) => `  "$sp_mkdir" -m 700 -- "$sp_tmp/${d}"`),
    ...parts.map((p, i) =>
      `  sp_part ${offsets[i]} ${p.len} ${
        p.gz ? '| "$sp_gzip" -dc ' : ""
      }> "$sp_tmp/${p.name}"`
    ),
    ...parts.map((p) => `  "$sp_chmod" ${p.mode} -- "$sp_tmp/${p.name}"`),
    `  printf '%s\\n' "$SP_STAMP" > "$sp_tmp/.stamp"`,
    '  if ! sp_verify "$sp_tmp"; then "$sp_rm" -rf -- "$sp_tmp"; sp_die "unpacked files do not match the hashes in $sp_self: the file is damaged"; fi',
    '  if [ -e "$1" ] || [ -L "$1" ]; then',
    '    "$sp_mv" -T -- "$1" "$sp_tmp.old" && "$sp_rm" -rf -- "$sp_tmp.old" || :',
    "  fi",
    '  if ! "$sp_mv" -T -- "$sp_tmp" "$1" 2>/dev/null; then',
    '    "$sp_rm" -rf -- "$sp_tmp"',
    '    sp_verify "$1" || sp_die "cannot put the unpacked files in place at $1"',
    "  fi",
    "}",
    'case "${1-}" in',
    "  --unpack)",
    '    [ $# -eq 2 ] || sp_die "usage: $0 --unpack DIR"',
    "    case $2 in /*) sp_to=$2 ;; *) sp_to=$(pwd -P)/$2 ;; esac",
    "    sp_to=${sp_to%/}",
    '    sp_unpack "$sp_to"',
    "    exit 0 ;;",
    "  --info)",
    `    printf 'role: %s\\nbroker: %s\\ndeno: %s\\nstamp: %s\\nlauncher:\\n' "$SP_ROLE" "$SP_BROKER" "$SP_DENO_VERSION" "$SP_STAMP"`,
    `    sp_part ${offsets[launcher]} ${parts[launcher].len}`,
    "    exit 0 ;;",
    "esac",
    ...roleMain(input.role),
    "exit 1",
    "",
  ];
  return lines.join("\n");
}

/** Writes the packed artefact and returns its checksum. */
export async function packArtefact(input: PackInput): Promise<PackedArtefact> {
  const enc = new TextEncoder();
  const launcher = enc.encode(input.launcher);
  const runtimeLen = (await Deno.stat(input.runtimeGz)).size;
  const extras = Object.entries(input.extras ?? {});
  for (const [name] of extras) {
    if (
      !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)?$/.test(name) ||
      name.startsWith(".")
    ) {
      throw new TypeError(
        `extra file ${JSON.stringify(name)}: expected dir/name`,
      );
    }
  }
  const parts: Part[] = [
    {
      name: "deno",
      len: runtimeLen,
      gz: true,
      mode: "500",
      sha256: input.runtimeSha256,
    },
    {
      name: bundleName(input.role),
      len: input.bundle.byteLength,
      gz: false,
      mode: "400",
      sha256: sha256Hex(input.bundle),
    },
    {
      name: "run",
      len: launcher.byteLength,
      gz: false,
      mode: "500",
      sha256: sha256Hex(launcher),
    },
    ...extras.map(([name, data]) => ({
      name,
      len: data.byteLength,
      gz: false,
      mode: "500",
      sha256: sha256Hex(data),
    })),
  ];
  const stamp = sha256Hex(
    [input.runtimeGzSha256, ...parts.slice(1).map((p) => p.sha256)].join(":"),
  );
  // The header states its own length; iterate until that number is stable
  // (numbers are written without leading zeros, which sh would read as
  // octal).
  const render = (offset: number) =>
    enc.encode(header(input, stamp, offset, parts));
  let offset = 0;
  let head = render(offset);
  while (head.byteLength !== offset) {
    offset = head.byteLength;
    head = render(offset);
  }
  const hash = createHash("sha256");
  const tmp = `${input.out}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(tmp, {
    write: true,
    createNew: true,
    mode: 0o755,
  });
  let size = 0;
  const write = async (chunk: Uint8Array) => {
    hash.update(chunk);
    size += chunk.byteLength;
    let off = 0;
    while (off < chunk.byteLength) off += await file.write(chunk.subarray(off));
  };
  try {
    await write(head);
    const rt = await Deno.open(input.runtimeGz, { read: true });
    for await (const chunk of rt.readable) await write(chunk);
    await write(input.bundle);
    await write(launcher);
    for (const [, data] of extras) await write(data);
    file.close();
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, input.out);
  } catch (e) {
    try {
      file.close();
    } catch { /* closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return { path: input.out, sha256: hash.digest("hex"), size, stamp };
}

/** SHA-256 (hex) of a gzipped file's uncompressed content. */
export async function gunzippedSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  const f = await Deno.open(path, { read: true });
  for await (
    const chunk of f.readable.pipeThrough(new DecompressionStream("gzip"))
  ) {
    hash.update(chunk);
  }
  return hash.digest("hex");
}
