/**
 * Who the payload runs as, and who owns the sandbox (README "Threat
 * model").
 *
 * The payload must not be able to ptrace the wrapper, open the wrapper's
 * file descriptors (`/proc/<wrapper>/fd/1` is the agent's frame pipe) or
 * use any capability. Both hold when the payload runs under a uid that
 * differs from the wrapper's and has no capabilities: `ptrace` and
 * `/proc/<pid>/fd` of another uid need `CAP_SYS_PTRACE`.
 *
 * The uid design, per launch:
 *
 * | who | uid | capabilities |
 * |---|---|---|
 * | wrapper | 0 of its namespace (host root for bwrap/none/docker as root, the mapped uid for podman) | `CAP_SETUID`, `CAP_SETGID`, `CAP_KILL` only |
 * | payload | the payload user (default nobody, 65534:65534) | none (`setpriv --inh-caps=-all`, no-new-privs) |
 *
 * The sandbox is owned by the wrapper's uid and the payload's group, mode
 * 2770: the wrapper stages inputs and collects outputs as the owner (no
 * `CAP_DAC_OVERRIDE` needed), the payload writes through the group, and
 * every file created there keeps that group. The container's `/tmp` is
 * `<sandbox>/.tmp` (mode 1777), so it lives on the sandbox's disk and
 * counts against `WorkDirectorySize`.
 *
 * The wrapper starts the payload (and the validation command) through
 * {@link dropArgv} when the launch environment names a payload user
 * ({@link PAYLOAD_USER_ENV}).
 *
 * @module
 */

/** A numeric uid and gid, as the payload's namespace sees them. */
export interface PayloadUser {
  /** User ID. */
  uid: number;
  /** Group ID. */
  gid: number;
}

/** The default payload user: nobody/nogroup. */
export const DEFAULT_PAYLOAD_USER: PayloadUser = { uid: 65534, gid: 65534 };

/** Launch environment variable naming the payload user (`uid:gid`). */
export const PAYLOAD_USER_ENV = "SPLITPILOT_PAYLOAD_USER";

/** The program that switches the payload's uid (util-linux). */
export const SETPRIV = "/usr/bin/setpriv";

/**
 * Launch environment variable asking the wrapper to jail the payload in
 * its own user, pid and mount namespaces (`1`), for launches where it
 * runs under the wrapper's own uid (an agent that is not root): with its
 * own `/proc` it cannot even name the wrapper's process.
 */
export const PAYLOAD_JAIL_ENV = "SPLITPILOT_PAYLOAD_JAIL";

/** The program that jails the payload (util-linux). */
export const UNSHARE = "/usr/bin/unshare";

/**
 * The argv that runs `argv` as pid 1 of fresh user, pid and mount
 * namespaces with its own `/proc`: the payload sees only its own
 * processes, has no capability outside, and when its main process exits
 * the kernel kills everything it left.
 *
 * @example
 * ```ts
 * jailArgv(["/bin/true"]);
 * // ["/usr/bin/unshare", "--user", "--map-current-user", "--pid", "--fork",
 * //  "--mount-proc", "--kill-child", "--", "/bin/true"]
 * ```
 */
export function jailArgv(argv: string[]): string[] {
  return [
    UNSHARE,
    "--user",
    "--map-current-user",
    "--pid",
    "--fork",
    "--mount-proc",
    "--kill-child",
    "--",
    ...argv,
  ];
}

/** Capabilities the wrapper keeps: switch the payload's ids and signal it. */
export const WRAPPER_CAPS: readonly string[] = [
  "CAP_SETUID",
  "CAP_SETGID",
  "CAP_KILL",
];

/** Name of the container's `/tmp` inside the sandbox. */
export const SANDBOX_TMP = ".tmp";

/**
 * Parses `--payload-user UID[:GID]` (numeric: the agent may not read
 * `/etc/passwd`). Throws a `TypeError` with a one-line reason.
 */
export function parsePayloadUser(value: string): PayloadUser {
  const m = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(value.trim());
  const uid = m ? Number(m[1]) : NaN;
  const gid = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || uid === 0 || gid === 0 || uid > 2 ** 32 - 2 || gid > 2 ** 32 - 2) {
    throw new TypeError(
      `--payload-user ${value}: expected a numeric UID[:GID] other than 0 (e.g. 65534:65534)`,
    );
  }
  return { uid, gid };
}

/** `uid:gid`, as {@link PAYLOAD_USER_ENV} carries it. */
export function formatPayloadUser(u: PayloadUser): string {
  return `${u.uid}:${u.gid}`;
}

/** Reads {@link PAYLOAD_USER_ENV} (undefined: run the payload as we are). */
export function payloadUserFromEnv(
  value: string | undefined,
): PayloadUser | undefined {
  return value ? parsePayloadUser(value) : undefined;
}

/**
 * The argv that runs `argv` as `user` with no capabilities at all: no
 * inheritable or ambient ones, and no supplementary groups. The launch
 * already set no-new-privs, so no setuid program gives any back.
 *
 * @example
 * ```ts
 * dropArgv({ uid: 65534, gid: 65534 }, ["/bin/sh", "-c", "id"]);
 * // ["/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534",
 * //  "--clear-groups", "--inh-caps=-all", "--", "/bin/sh", "-c",
 * //  'umask 002 && exec "$@"', "splitpilot-payload", "/bin/sh", "-c", "id"]
 * ```
 */
export function dropArgv(user: PayloadUser, argv: string[]): string[] {
  return [
    SETPRIV,
    "--reuid",
    String(user.uid),
    "--regid",
    String(user.gid),
    "--clear-groups",
    "--inh-caps=-all",
    "--",
    // The wrapper (uid 0, another group) reads the outputs through the
    // "other" bits, whatever umask the agent was started with (the built
    // artefacts use 077); the sandbox itself is 2770, closed to others.
    "/bin/sh",
    "-c",
    'umask 002 && exec "$@"',
    "splitpilot-payload",
    ...argv,
  ];
}

/**
 * Opens the files the wrapper staged in `workdir` to the payload's group
 * (the wrapper's umask may be 077). Runs before the payload starts, so
 * everything there is the wrapper's own; symlinks are left alone.
 */
export async function shareStaged(workdir: string): Promise<void> {
  for await (const e of Deno.readDir(workdir)) {
    if (!e.isFile) continue;
    const path = `${workdir}/${e.name}`;
    const st = await Deno.lstat(path);
    await Deno.chmod(path, ((st.mode ?? 0o600) & 0o777) | 0o060);
  }
}

/**
 * Hands the sandbox to `owner` (the wrapper) and `user`'s group, mode
 * 2770, and creates the container's `/tmp` in it (mode 1777). Needs root.
 */
export async function shareSandbox(
  sandbox: string,
  owner: number,
  group: number,
): Promise<void> {
  const tmp = `${sandbox}/${SANDBOX_TMP}`;
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.chown(sandbox, owner, group);
  await Deno.chmod(sandbox, 0o2770);
  await Deno.chown(tmp, owner, group);
  await Deno.chmod(tmp, 0o1777);
}

/**
 * The payload user for a runtime, or undefined to run the payload as the
 * wrapper: podman always switches (its ids are the container's, mapped
 * to unprivileged host ids); bwrap, `none`, docker, singularity and
 * apptainer switch when the agent runs as root (as a normal user, the
 * payload already has no privileges and bwrap's user namespace has only
 * one uid; docker then keeps its own `--user`). Other runtimes keep their
 * own user handling.
 */
export function payloadUserFor(
  runtime: string,
  opts: { asRoot: boolean; user?: PayloadUser },
): PayloadUser | undefined {
  const user = opts.user ?? DEFAULT_PAYLOAD_USER;
  if (runtime === "podman") return user.uid < 65536 ? user : undefined;
  if (
    runtime === "bwrap" || runtime === "none" || runtime === "docker" ||
    runtime === "singularity" || runtime === "apptainer"
  ) {
    return opts.asRoot ? user : undefined;
  }
  return undefined;
}

/**
 * Whether this process runs as root, found without `--allow-sys`: the
 * owner of a file we just created in `dir` (which we may write).
 */
export async function runningAsRoot(dir: string): Promise<boolean> {
  const probe = `${dir}/.uid-probe-${Deno.pid}`;
  try {
    await Deno.writeTextFile(probe, "");
    return (await Deno.stat(probe)).uid === 0;
  } catch {
    return false;
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}
