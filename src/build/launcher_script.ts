/**
 * Renders the fixed-permission launcher (`run`) of a built role: a POSIX
 * sh script that starts the bundled program on the bundled Deno runtime
 * with exactly the role's permission flags.
 *
 * Why it cannot be widened:
 *
 * - The flags are written into the script at build time from the role
 *   table; the only runtime input is the work directory (see
 *   {@link ./site_layout.ts}), which must be an absolute, existing
 *   directory other than `/`, without commas, and is canonicalized.
 * - User arguments go after the script name, so Deno hands them to the
 *   program (`Deno.args`) and never parses them as its own flags
 *   (`--allow-all` there is just a string).
 * - The runtime starts under `env -i` with only the role's named variables
 *   (plus `DENO_AUDIT_PERMISSIONS`, the one pass-through, and a fixed
 *   `DENO_DIR`): no `DENO_*`, proxy, `LD_*` or other variable reaches it.
 * - `--no-config` ignores any `deno.json`/`package.json` (whose
 *   `permissions` could otherwise grant more); `--no-remote`, `--no-npm`
 *   and `--no-prompt` complete the lock-down.
 *
 * @module
 */
import type { PermissionSet, ProcessRole } from "../permissions/table.ts";
import { toDenoFlags } from "../permissions/table.ts";

/** Placeholder for the work directory in build-time paths. */
export const WORKDIR_MARK = "\u0001W\u0001";

/** Placeholder for the per-launch `--allow-run` list (wrapper only). */
export const RUN_MARK = "\u0001RUN\u0001";

/** The Deno options every launcher uses besides the permission flags. */
export const LOCKDOWN_FLAGS: readonly string[] = [
  "--no-config",
  "--no-lock",
  "--no-remote",
  "--no-npm",
  "--no-prompt",
];

/** Inputs of {@link renderLauncher}. */
export interface LauncherOptions {
  /** The role (names the script in messages). */
  role: ProcessRole;
  /**
   * The role's permissions from the table, with {@link WORKDIR_MARK} in
   * place of the work directory; `run` may be `[RUN_MARK]` to take the list
   * from `WORKDIR/<runListFile>` at launch.
   */
  permissions: PermissionSet;
  /** File name of the bundle next to the launcher. */
  bundle: string;
  /** Program arguments placed before the user's (may use the mark). */
  fixedArgs: string[];
  /** Paths below the work directory that must exist. @default [] */
  requires?: string[];
  /** The run-list file below the work directory (with `RUN_MARK`). */
  runListFile?: string;
  /** Broker `host:port` the flags were built for (shown in the header). */
  broker: string;
}

/** Quotes `s` as one double-quoted sh word; the mark becomes `${sp_w}`. */
function word(s: string): string {
  const parts = s.split(WORKDIR_MARK);
  const esc = parts.map((p) => {
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f]/.test(p)) {
      throw new TypeError(
        `launcher word ${
          JSON.stringify(s)
        } contains a control character; expected plain text`,
      );
    }
    return p.replace(/[\\"$`]/g, (c) => `\\${c}`);
  });
  return `"${esc.join("${sp_w}")}"`;
}

function envName(name: string): { name: string; prefix: boolean } {
  const prefix = name.endsWith("*");
  const n = prefix ? name.slice(0, -1) : name;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) {
    throw new TypeError(
      `env entry "${name}": expected a variable name, optionally ending in *`,
    );
  }
  return { name: n, prefix };
}

/** The launcher's Deno flags (marks intact); exported for tests. */
export function launcherFlags(permissions: PermissionSet): string[] {
  const runFromFile = permissions.run.includes(RUN_MARK);
  if (runFromFile && permissions.run.length !== 1) {
    throw new TypeError(
      "run list: RUN_MARK must be the only entry when the list comes from the work directory",
    );
  }
  return toDenoFlags({
    ...permissions,
    run: runFromFile ? [] : permissions.run,
  });
}

/**
 * `DENO_AUDIT_PERMISSIONS` goes on only when it names a file in a
 * directory the role may write (the runtime truncates that file), or the
 * caller's own `/dev/stderr`, `/dev/stdout` or `/dev/null`; anything else
 * stops the launch with a one-line error.
 */
function auditPassThrough(
  permissions: PermissionSet,
  add: (...l: string[]) => void,
) {
  const allowed = permissions.write.map((w) =>
    `    ${word(w)}|${word(w)}/*) sp_ok=1 ;;`
  );
  const denied = (permissions.denyWrite ?? []).map((w) =>
    `    ${word(w)}|${word(w)}/*) sp_ok= ;;`
  );
  add(
    'if [ -n "${DENO_AUDIT_PERMISSIONS:-}" ]; then',
    "  sp_a=$DENO_AUDIT_PERMISSIONS",
    "  sp_ok=",
    "  case $sp_a in",
    "  /dev/stderr|/dev/stdout|/dev/null) sp_ok=1 ;;",
    "  /*)",
    '    case ${sp_a##*/} in ""|.|..) sp_a= ;; esac',
    '    case $sp_a in *"$sp_nl"*) sp_a= ;; esac',
    '    [ -L "$sp_a" ] && sp_a=',
    "    sp_d=",
    '    [ -z "$sp_a" ] || sp_d=$(cd -P -- "${sp_a%/*}/" 2>/dev/null && pwd -P) || sp_d=',
    '    [ -z "$sp_d" ] || sp_a=$sp_d/${sp_a##*/}',
    '    [ -n "$sp_d" ] && case $sp_d in',
    ...allowed,
    "    *) ;;",
    "    esac",
    '    [ -n "$sp_d" ] && case $sp_d in',
    ...denied,
    "    *) ;;",
    "    esac ;;",
    "  esac",
    '  [ -n "$sp_ok" ] || sp_die "DENO_AUDIT_PERMISSIONS $DENO_AUDIT_PERMISSIONS: expected a file in a directory this role may write, or /dev/stderr"',
    '  set -- "DENO_AUDIT_PERMISSIONS=$sp_a" "$@"',
    "fi",
  );
}

/** Renders the launcher script text. */
export function renderLauncher(opts: LauncherOptions): string {
  const runFromFile = opts.permissions.run.includes(RUN_MARK);
  if (runFromFile && !opts.runListFile) {
    throw new TypeError("RUN_MARK needs runListFile");
  }
  const flags = launcherFlags(opts.permissions);
  const lines: string[] = [];
  const add = (...l: string[]) => lines.push(...l);
  add(
    "#!/bin/sh",
    `# splitpilot ${opts.role} launcher, generated by scripts/build.ts from the`,
    "# role table (src/permissions/table.ts). Its Deno permissions are fixed",
    "# here: arguments go to the program after the script name, and the",
    "# runtime starts with an empty environment plus the role's named",
    "# variables, so neither can widen them.",
    `# broker: ${opts.broker}`,
    `# usage: run WORKDIR [${opts.role} arguments]`,
    "set -eu",
    "sp_path=${PATH-}",
    "PATH=/usr/bin:/bin",
    "export PATH",
    `sp_die() { printf 'splitpilot-${opts.role}: %s\\n' "$1" >&2; exit 2; }`,
    `[ $# -ge 1 ] || sp_die "usage: $0 WORKDIR [arguments]"`,
    "case $0 in */*) sp_here=${0%/*} ;; *) sp_here=. ;; esac",
    `sp_here=$(cd -P -- "$sp_here" && pwd -P) || sp_die "cannot find the launcher's directory"`,
    `case $sp_here in *=*|*,*) sp_die "launcher directory must not contain = or ,: $sp_here" ;; esac`,
    `case $1 in /*) ;; *) sp_die "WORKDIR must be an absolute path, got: $1" ;; esac`,
    `[ -d "$1" ] || sp_die "WORKDIR $1 is not a directory"`,
    `sp_w=$(cd -P -- "$1" && pwd -P) || sp_die "cannot enter WORKDIR $1"`,
    "shift",
    `case $sp_w in /) sp_die "WORKDIR must not be /" ;; *,*) sp_die "WORKDIR must not contain a comma: $sp_w" ;; esac`,
    "sp_nl='",
    "'",
    `case $sp_w in *"$sp_nl"*) sp_die "WORKDIR must not contain a newline" ;; esac`,
  );
  for (const r of opts.requires ?? []) {
    add(
      `[ -e ${word(`${WORKDIR_MARK}/${r}`)} ] || sp_die ${
        word(`missing ${WORKDIR_MARK}/${r}`)
      }`,
    );
  }
  if (runFromFile) {
    const file = word(`${WORKDIR_MARK}/${opts.runListFile}`);
    // One line of JSON (see allow_run_list.ts): only plain strings, no
    // escapes, so nothing in a value can add an entry.
    const bad = (what: string) =>
      `sp_die "allow-run: ${what} (expected one line: a JSON array of plain absolute paths)"`;
    add(
      "sp_run=",
      `if [ -f ${file} ]; then`,
      "  sp_json=",
      "  sp_n=0",
      '  while IFS= read -r sp_l || [ -n "$sp_l" ]; do sp_n=$((sp_n + 1)); sp_json=$sp_l; done < ' +
        file,
      `  [ "$sp_n" -le 1 ] || ${bad("more than one line")}`,
      `  case $sp_json in ''|'['*']') ;; *) ${bad("not a JSON array")} ;; esac`,
      '  [ -z "$sp_json" ] || sp_json=${sp_json#?}',
      "  sp_json=${sp_json%?}",
      `  case $sp_json in *\\\\*) ${bad("an escape in a path")} ;; esac`,
      '  while [ -n "$sp_json" ]; do',
      `    case $sp_json in '"'*) ;; *) ${bad("not a string")} ;; esac`,
      '    sp_json=${sp_json#\\"}',
      '    sp_p=${sp_json%%\\"*}',
      `    [ "$sp_p" != "$sp_json" ] || ${bad("an unterminated string")}`,
      '    sp_json=${sp_json#*\\"}',
      `    case $sp_json in ,?*) sp_json=\${sp_json#,} ;; '') ;; *) ${
        bad("a bad separator")
      } ;; esac`,
      `    case $sp_p in /*) ;; *) sp_die "allow-run: not an absolute path: $sp_p" ;; esac`,
      `    case $sp_p in *,*) sp_die "allow-run: comma in $sp_p" ;; esac`,
      `    case $sp_p in *[![:print:]]*) ${bad("a control character")} ;; esac`,
      "    sp_run=${sp_run:+$sp_run,}$sp_p",
      "  done",
      "fi",
    );
  }
  add(
    `set -- "$sp_here/${opts.bundle}" ${
      opts.fixedArgs.map(word).join(" ")
    } "$@"`,
  );
  if (runFromFile) {
    add(`[ -z "$sp_run" ] || set -- "--allow-run=$sp_run" "$@"`);
  }
  add(
    `set -- "$sp_here/deno" run ${LOCKDOWN_FLAGS.join(" ")} ${
      flags.map(word).join(" ")
    } "$@"`,
    `set -- "DENO_DIR=$sp_here/.deno" DENO_NO_UPDATE_CHECK=1 "$@"`,
  );
  auditPassThrough(opts.permissions, add);
  for (const e of opts.permissions.env.map(envName)) {
    if (e.prefix) {
      // Names from the shell's own `export -p` (no extra processes); a
      // line inside a multi-line value can only name a variable that must
      // then really exist, and names are checked before any eval.
      add(
        "sp_exports=$(export -p)",
        "while IFS= read -r sp_l; do",
        "  case $sp_l in 'export '*) sp_n=${sp_l#export } ;; 'declare -x '*) sp_n=${sp_l#declare -x } ;; *) continue ;; esac",
        "  sp_n=${sp_n%%=*}",
        `  case $sp_n in ${e.name}*) ;; *) continue ;; esac`,
        "  case $sp_n in *[!A-Za-z0-9_]*) continue ;; esac",
        `  eval "sp_set=\\\${$sp_n+x}"`,
        `  [ -z "$sp_set" ] || eval "set -- \\"$sp_n=\\\${$sp_n}\\" \\"\\$@\\""`,
        "done <<SP_EXPORTS",
        "$sp_exports",
        "SP_EXPORTS",
      );
    } else if (e.name === "PATH") {
      add(`[ -z "$sp_path" ] || set -- "PATH=$sp_path" "$@"`);
    } else {
      add(`[ -z "\${${e.name}+x}" ] || set -- "${e.name}=$${e.name}" "$@"`);
    }
  }
  add('exec env -i "$@"', "");
  return lines.join("\n");
}
