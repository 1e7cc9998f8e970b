/**
 * What apptainer and singularity share: one `exec` command line for
 * Singularity 2.6+, 3.x/4.x and Apptainer 1.x (apptainer is singularity's
 * renamed successor), with the few version-specific flags chosen from
 * `--version` (see `runtime_version.ts`).
 *
 * The argv is `splitpilot-runtime-launch ENV… BINARY exec … IMAGE /bin/sh -c
 * INNER …` (the launcher is a read-only script in `helpers/`):
 *
 * - **Frames on their own channel.** Singularity prints its warnings and
 *   errors on stdout, in colour. The launcher moves the agent's pipe to fd 8 and
 *   points the runtime's stdout at stderr; INNER, the first process inside,
 *   moves fd 8 back to stdout for the wrapper only. Whatever the runtime
 *   says ends up on stderr, whose tail the agent puts in the job's trace.
 * - **Environment.** `--cleanenv` keeps the host's out; the job's variables
 *   go in as `SINGULARITYENV_K=V` (`APPTAINERENV_` for apptainer), which
 *   every version reads, in an otherwise empty environment (`env -i`).
 * - **No root payload.** Run as root, singularity keeps every capability
 *   inside (2.6 has no `--drop-caps`/`--no-privs`). With a payload user
 *   (`spec.payloadUser`, the agent runs as root) INNER keeps the wrapper
 *   at uid 0 with only `CAP_SETUID`, `CAP_SETGID` and `CAP_KILL` (as
 *   ambient capabilities, with an empty bounding set) and no_new_privs (`setpriv`, util-linux, in every Debian/EL image); the
 *   wrapper starts the payload as the payload user with no capabilities
 *   (`payload_user.ts`), so the payload cannot reach the wrapper's fds or
 *   ptrace it. Without one, INNER drops the wrapper itself to an
 *   unprivileged uid with an empty bounding set. Run as any other user,
 *   singularity already drops every capability, and INNER keeps that user.
 * - **`/tmp` on the sandbox's disk.** `spec.tmp` (`<sandbox>/.tmp`) is
 *   bound at `/tmp`, so it counts against `WorkDirectorySize`.
 *
 * @module
 */
import {
  type Capabilities,
  ContainerError,
  type LaunchSpec,
  SANDBOX_PATH,
} from "./driver.ts";
import {
  describeFlags,
  detectRuntimeVersion,
  parseRuntimeVersion,
  type VersionFlags,
  versionFlags,
} from "./runtime_version.ts";
import { shareSandbox, WRAPPER_CAPS } from "./payload_user.ts";

/** Capabilities of both. */
export const APPTAINER_CAPABILITIES: Capabilities = {
  pidNamespace: true,
  networkNone: true,
  rootless: true,
  relocates: true,
  diesWithParent: false,
  needsImage: true,
  directoryImages: true,
};

/** The host uid a payload runs as when singularity runs as root. */
export const SINGULARITY_PAYLOAD_UID = 589825;

/** The fd that carries the wrapper's frames past the runtime. */
const FRAME_FD = 8;

/**
 * Host side: frames to fd 8, the runtime's stdout to stderr, env only
 * ours. A read-only script next to this module (`helpers/`), so the
 * agent's `--allow-run` names it, not a shell.
 */
export const RUNTIME_LAUNCHER: string = decodeURIComponent(
  new URL("./helpers/splitpilot-runtime-launch", import.meta.url).pathname,
);

/** The wrapper's capabilities in setpriv's spelling: `+setuid,…`. */
const WRAPPER_CAP_LIST = WRAPPER_CAPS.map((c) => `+${c.slice(4).toLowerCase()}`)
  .join(",");

/** `$1` of {@link INNER_SCRIPT} when the wrapper switches to a payload user. */
export const KEEP_WRAPPER = "wrapper";

/**
 * Container side: frames back on stdout; as root, either keep uid 0 with
 * the wrapper's few capabilities (`$1` is {@link KEEP_WRAPPER}) or drop to
 * uid `$1` first.
 */
export const INNER_SCRIPT = [
  `exec 1>&${FRAME_FD} ${FRAME_FD}>&-`,
  "u=$1; shift",
  'if [ "$(id -u)" = 0 ]; then',
  // --containall's private /tmp belongs to the runtime's user (root).
  "  chmod 1777 /tmp /var/tmp 2>/dev/null",
  `  if [ "$u" = ${KEEP_WRAPPER} ]; then`,
  // The wrapper's caps ride in the inheritable and ambient sets, so the
  // bounding set can be emptied: the payload (another uid, its
  // inheritable set cleared by dropArgv) ends with no capability at all.
  `    exec setpriv --inh-caps=-all,${WRAPPER_CAP_LIST} \\`,
  `      --ambient-caps=-all,${WRAPPER_CAP_LIST} -- \\`,
  '      setpriv --no-new-privs --bounding-set=-all -- "$@"',
  "  fi",
  '  exec setpriv --reuid="$u" --regid="$u" --clear-groups --no-new-privs \\',
  '    --bounding-set=-all --inh-caps=-all -- "$@"',
  "fi",
  'exec "$@"',
].join("\n");

/** The runtime's own environment (it needs a PATH for its helpers). */
const RUNTIME_ENV = [
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "LANG=C",
];

/** Inputs of {@link apptainerCommand} besides the spec. */
export interface ApptainerArgvOptions {
  /** Runtime name, for messages. */
  name: string;
  /** The runtime program (absolute). */
  binary: string;
  /** The version-dependent flags. */
  flags: VersionFlags;
  /** Uid the payload drops to under a root runtime. */
  payloadUid: number;
}

/** The launch argv (see the module doc). */
export function apptainerCommand(
  opts: ApptainerArgvOptions,
  spec: LaunchSpec,
): string[] {
  const { name, binary } = opts;
  if (!spec.image) {
    throw new ContainerError(
      `${name} needs a directory image; expected --software-dir with containers/<name>/latest`,
    );
  }
  if (!binary.startsWith("/") || binary.includes("=")) {
    throw new ContainerError(
      `${name}: program ${binary}: expected an absolute path without '='`,
    );
  }
  for (
    const p of [
      spec.sandbox,
      spec.image,
      ...(spec.tmp ? [spec.tmp] : []),
      ...spec.binds.flatMap((b) => [b.source, b.target]),
    ]
  ) {
    if (p.includes(":") || p.includes(",")) {
      throw new ContainerError(
        `${name}: path ${p} contains ':' or ','; expected paths usable in --bind`,
      );
    }
  }
  const env = Object.entries(spec.env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new ContainerError(
        `${name}: environment name ${
          JSON.stringify(k)
        }: expected [A-Za-z_][A-Za-z0-9_]*`,
      );
    }
    return `${opts.flags.envPrefix}${k}=${v}`;
  });
  const argv = [
    RUNTIME_LAUNCHER,
    ...RUNTIME_ENV,
    ...env,
    binary,
    "exec",
    "--containall",
    "--no-home",
    "--cleanenv",
    "--pid",
    "--ipc",
  ];
  if (spec.network === "none") argv.push(...opts.flags.networkNone);
  argv.push("--bind", `${spec.sandbox}:${SANDBOX_PATH}`);
  if (spec.tmp) argv.push("--bind", `${spec.tmp}:/tmp`);
  for (const b of spec.binds) argv.push("--bind", `${b.source}:${b.target}:ro`);
  argv.push(
    "--pwd",
    SANDBOX_PATH,
    spec.image,
    "/bin/sh",
    "-c",
    INNER_SCRIPT,
    "splitpilot-payload",
    spec.payloadUser ? KEEP_WRAPPER : String(opts.payloadUid),
    ...spec.argv,
  );
  return argv;
}

/**
 * Hands the sandbox to the payload uid. Only root can, and only under
 * root does the payload drop to that uid; anyone else keeps their own.
 */
export async function giveSandbox(
  sandbox: string,
  uid: number,
): Promise<void> {
  try {
    await Deno.chown(sandbox, uid, uid);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) return; // not root
    throw new ContainerError(
      `cannot hand sandbox ${sandbox} to uid ${uid}: ${(e as Error).message}`,
    );
  }
}

/** Options of the singularity and apptainer drivers. */
export interface ApptainerLikeOptions {
  /**
   * The program. @default the first `singularity` (or `apptainer`) on
   * PATH, see `find_program.ts`
   */
  binary?: string;
  /**
   * Its `--version` output, to skip running it (tests, or a site that
   * pins it). @default detected on first use
   */
  version?: string;
  /** Uid of the payload under a root runtime. @default SINGULARITY_PAYLOAD_UID */
  payloadUid?: number;
  /** Where the version choice is logged (once). @default stderr, `[agent] ` */
  log?: (line: string) => void;
}

const logged = new Set<string>();

/**
 * Version detection and argv for one binary: `--version` runs on first
 * use (drivers are built before any job), and the choice is logged once
 * per process.
 */
export class ApptainerLike {
  readonly #name: "singularity" | "apptainer";
  readonly #opts: ApptainerLikeOptions;
  #flags?: VersionFlags;

  /** Creates the helper for `name` (the binary must be resolved). */
  constructor(
    name: "singularity" | "apptainer",
    readonly binary: string,
    opts: ApptainerLikeOptions,
  ) {
    this.#name = name;
    this.#opts = opts;
  }

  /** The version-dependent flags (detects and logs on first call). */
  flags(): VersionFlags {
    if (this.#flags) return this.#flags;
    const v = this.#opts.version !== undefined
      ? parseRuntimeVersion(this.#opts.version, this.#name)
      : detectRuntimeVersion(this.binary, this.#name);
    this.#flags = versionFlags(v);
    if (this.#opts.version === undefined && !logged.has(this.binary)) {
      logged.add(this.binary);
      (this.#opts.log ?? ((l) => console.error(`[agent] ${l}`)))(
        describeFlags(this.binary, v, this.#flags),
      );
    }
    return this.#flags;
  }

  /** The launch argv for `spec`. */
  command(spec: LaunchSpec): string[] {
    if (!this.binary.startsWith("/")) {
      throw new ContainerError(
        `${this.#name}: not found on PATH; expected ${this.#name} installed, or --runtime-binary ${this.#name}=/PATH`,
      );
    }
    return apptainerCommand({
      name: this.#name,
      binary: this.binary,
      flags: this.flags(),
      payloadUid: this.#opts.payloadUid ?? SINGULARITY_PAYLOAD_UID,
    }, spec);
  }

  /**
   * Hands the sandbox to the wrapper (root) and the payload's group, or
   * without a payload user to the uid INNER drops to (root only).
   */
  prepare(spec: LaunchSpec): Promise<void> {
    if (spec.payloadUser) {
      return shareSandbox(spec.sandbox, 0, spec.payloadUser.gid);
    }
    return giveSandbox(
      spec.sandbox,
      this.#opts.payloadUid ?? SINGULARITY_PAYLOAD_UID,
    );
  }
}
