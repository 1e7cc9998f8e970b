/**
 * The bubblewrap runtime: unprivileged user, pid, ipc, uts, cgroup (and,
 * with `network: "none"`, net) namespaces; only the sandbox is writable.
 *
 * Host-rootfs mode binds the system directories read-only and nothing
 * else, so home directories, the agent's work root and token, and other
 * jobs' sandboxes are simply absent. Image mode uses a directory rootfs,
 * which needs the mount points `/workdir`, `/opt/splitpilot`, `/proc`,
 * `/dev` and `/tmp` (`scripts/build_image.ts` creates them).
 *
 * @module
 */
import { shareSandbox, WRAPPER_CAPS } from "./payload_user.ts";
import {
  type Capabilities,
  type ContainerDriver,
  type LaunchSpec,
  SANDBOX_PATH,
} from "./driver.ts";

/** Host directories visible (read-only) in host-rootfs mode. */
export const HOST_SYSTEM_DIRS: readonly string[] = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/etc",
];

/** Options of {@link BwrapDriver}. */
export interface BwrapOptions {
  /** The bwrap program. @default "/usr/bin/bwrap" */
  binary?: string;
}

/** Launches through `bwrap`. */
export class BwrapDriver implements ContainerDriver {
  /** @inheritdoc */
  readonly name = "bwrap" as const;
  /** @inheritdoc */
  readonly binary: string;
  /** @inheritdoc */
  readonly capabilities: Capabilities = {
    pidNamespace: true,
    networkNone: true,
    rootless: true,
    relocates: true,
    diesWithParent: true,
    needsImage: false,
    directoryImages: true,
  };

  /** Creates the driver. */
  constructor(opts: BwrapOptions = {}) {
    this.binary = opts.binary ?? "/usr/bin/bwrap";
  }

  /**
   * The bwrap argv for `spec`. Every capability is dropped: as root, bwrap
   * would otherwise keep them all in its namespaces, and the payload could
   * remount the read-only binds. With `spec.payloadUser` (the agent runs
   * as root) no user namespace is made (root needs none, and one would
   * map only uid 0), and the wrapper keeps just what it needs to start
   * the payload as that user.
   */
  command(spec: LaunchSpec): string[] {
    const argv = [this.binary];
    if (spec.payloadUser) {
      argv.push(
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
        "--unshare-cgroup-try",
        ...(spec.network === "host" ? [] : ["--unshare-net"]),
      );
    } else {
      argv.push(
        "--unshare-all",
        ...(spec.network === "host" ? ["--share-net"] : []),
      );
    }
    argv.push("--die-with-parent", "--new-session", "--cap-drop", "ALL");
    if (spec.payloadUser) {
      for (const cap of WRAPPER_CAPS) argv.push("--cap-add", cap);
    }
    if (spec.image) {
      argv.push("--ro-bind", spec.image, "/");
    } else {
      for (const dir of HOST_SYSTEM_DIRS) argv.push("--ro-bind-try", dir, dir);
    }
    argv.push("--proc", "/proc", "--dev", "/dev");
    argv.push(
      ...(spec.tmp ? ["--bind", spec.tmp, "/tmp"] : ["--tmpfs", "/tmp"]),
    );
    argv.push("--bind", spec.sandbox, SANDBOX_PATH);
    // A read-only image cannot get new mount points; a tmpfs can.
    for (const dir of spec.scratch ?? []) argv.push("--tmpfs", dir);
    for (const b of spec.binds) argv.push("--ro-bind", b.source, b.target);
    // The scratch tmpfs and host mode's root (bwrap's own tmpfs) become
    // read-only once the mount points are made.
    for (const dir of spec.scratch ?? []) argv.push("--remount-ro", dir);
    argv.push("--remount-ro", "/", "--chdir", SANDBOX_PATH, "--clearenv");
    for (const [k, v] of Object.entries(spec.env)) argv.push("--setenv", k, v);
    argv.push("--", ...spec.argv);
    return argv;
  }

  /** Hands the sandbox to the wrapper (root) and the payload's group. */
  async prepare(spec: LaunchSpec): Promise<void> {
    if (spec.payloadUser) {
      await shareSandbox(spec.sandbox, 0, spec.payloadUser.gid);
    }
  }
}
