/**
 * The podman runtime, with a directory image (`--rootfs`, always last
 * before the command).
 *
 * What the flags are for:
 * - `--runtime runc`: crun refuses hybrid cgroup v1 hosts.
 * - `--ulimit nofile=…,nproc=…`: podman's default ulimits exceed the hard
 *   limits of some hosts and runc then fails with "error setting rlimits";
 *   explicit values within the host's limits replace them (the same effect
 *   as `default_ulimits` in a containers.conf, without a config file).
 * - `--cgroups=no-conmon`: conmon stays in the agent's cgroup.
 * - `--uidmap/--gidmap`: root in the container is an unprivileged host uid,
 *   so {@link PodmanDriver.prepare} hands the sandbox to that uid.
 * - `--read-only`, `--cap-drop all`, `no-new-privileges`: the payload can
 *   write only the sandbox and its own `/tmp`.
 * - `--log-driver none`: frames go to the agent, not to a log file too.
 *
 * podman detaches the container from its client (conmon supervises it), so
 * a SIGKILLed agent would leave it running: the launch runs the wrapper
 * under the agent lease shim (`lease.ts`), which kills the container when
 * the agent's lease is gone.
 *
 * @module
 */
import { shareSandbox, WRAPPER_CAPS } from "./payload_user.ts";
import {
  type Capabilities,
  type ContainerDriver,
  ContainerError,
  type LaunchSpec,
  SANDBOX_PATH,
} from "./driver.ts";

/** A user-namespace mapping: container ids 0… map to host `base`…. */
export interface IdMap {
  /** First host uid/gid. */
  base: number;
  /** Number of ids mapped. */
  size: number;
}

/** Options of {@link PodmanDriver}. */
export interface PodmanOptions {
  /** The podman program. @default "/usr/bin/podman" */
  binary?: string;
  /** OCI runtime. @default "runc" */
  runtime?: string;
  /**
   * `--ulimit` values.
   * @default ["nofile=20000:20000", "nproc=32768:32768"]
   */
  ulimits?: string[];
  /**
   * User namespace of the container; `false` runs it as host root (with
   * every capability dropped), e.g. for rootless podman, which maps by
   * itself. @default { base: 524288, size: 65536 }
   */
  idMap?: IdMap | false;
  /** `--cgroup-parent` for the container's cgroup. @default podman's */
  cgroupParent?: string;
}

/** Default {@link PodmanOptions.ulimits}. */
export const PODMAN_ULIMITS: readonly string[] = [
  "nofile=20000:20000",
  "nproc=32768:32768",
];

/** Label naming the job sandbox on every container we start. */
export const PODMAN_SANDBOX_LABEL = "splitpilot.sandbox";

/** Default {@link PodmanOptions.idMap}. */
export const PODMAN_ID_MAP: IdMap = { base: 524288, size: 65536 };

/** Launches through `podman run --rootfs`. */
export class PodmanDriver implements ContainerDriver {
  /** @inheritdoc */
  readonly name = "podman" as const;
  /** @inheritdoc */
  readonly binary: string;
  /** @inheritdoc */
  readonly capabilities: Capabilities = {
    pidNamespace: true,
    networkNone: true,
    rootless: false,
    relocates: true,
    diesWithParent: false,
    needsImage: true,
    directoryImages: true,
  };
  readonly #runtime: string;
  readonly #ulimits: readonly string[];
  readonly #idMap: IdMap | false;
  readonly #cgroupParent?: string;

  /** Creates the driver. */
  constructor(opts: PodmanOptions = {}) {
    this.binary = opts.binary ?? "/usr/bin/podman";
    this.#runtime = opts.runtime ?? "runc";
    this.#ulimits = opts.ulimits ?? PODMAN_ULIMITS;
    this.#idMap = opts.idMap ?? PODMAN_ID_MAP;
    this.#cgroupParent = opts.cgroupParent;
  }

  /** The podman argv for `spec`. */
  command(spec: LaunchSpec): string[] {
    if (!spec.image) {
      throw new ContainerError(
        "podman needs a directory image; expected --software-dir with containers/<name>/latest",
      );
    }
    for (const p of [spec.sandbox, ...spec.binds.map((b) => b.source)]) {
      if (p.includes(",")) {
        throw new ContainerError(
          `podman: path ${p} contains a comma; expected paths usable in --mount`,
        );
      }
    }
    const argv = [
      this.binary,
      "run",
      "--rm",
      "-i",
      "--runtime",
      this.#runtime,
      ...this.#ulimits.flatMap((u) => ["--ulimit", u]),
      "--cgroups=no-conmon",
      ...(this.#cgroupParent ? ["--cgroup-parent", this.#cgroupParent] : []),
      "--log-driver",
      "none",
      // Lets an operator (or a test) find what a job left behind.
      "--label",
      `${PODMAN_SANDBOX_LABEL}=${spec.sandbox}`,
      "--network",
      spec.network,
      "--pid",
      "private",
      "--ipc",
      "private",
      "--uts",
      "private",
    ];
    if (this.#idMap) {
      const m = `0:${this.#idMap.base}:${this.#idMap.size}`;
      argv.push("--uidmap", m, "--gidmap", m);
    }
    argv.push("--cap-drop", "all");
    // The wrapper starts the payload as another uid (see payload_user.ts).
    if (spec.payloadUser) {
      for (const cap of WRAPPER_CAPS) argv.push("--cap-add", cap);
    }
    const r = spec.resources;
    if (r?.memoryBytes) {
      // Swap would let the payload page past the limit.
      argv.push(
        "--memory",
        String(r.memoryBytes),
        "--memory-swap",
        String(r.memoryBytes),
      );
    }
    if (r?.pids) argv.push("--pids-limit", String(r.pids));
    argv.push(
      "--security-opt",
      "no-new-privileges",
      "--read-only",
      "--read-only-tmpfs=false",
    );
    if (spec.tmp) {
      argv.push("--mount", `type=bind,source=${spec.tmp},destination=/tmp`);
    } else {
      argv.push("--tmpfs", "/tmp:rw,nosuid,nodev,mode=1777");
    }
    for (const dir of spec.scratch ?? []) {
      argv.push("--mount", `type=tmpfs,destination=${dir},ro=true`);
    }
    argv.push(
      "--mount",
      `type=bind,source=${spec.sandbox},destination=${SANDBOX_PATH}`,
    );
    for (const b of spec.binds) {
      argv.push(
        "--mount",
        `type=bind,source=${b.source},destination=${b.target},ro`,
      );
    }
    argv.push("--workdir", SANDBOX_PATH);
    for (const [k, v] of Object.entries(spec.env)) {
      argv.push("--env", `${k}=${v}`);
    }
    argv.push("--rootfs", spec.image, ...spec.argv);
    return argv;
  }

  /**
   * Gives the sandbox to the container's root (the mapped host uid) and,
   * with `spec.payloadUser`, to the payload's group (mapped likewise).
   */
  async prepare(spec: LaunchSpec): Promise<void> {
    if (!this.#idMap) return;
    const base = this.#idMap.base;
    try {
      if (spec.payloadUser) {
        await shareSandbox(spec.sandbox, base, base + spec.payloadUser.gid);
      } else await Deno.chown(spec.sandbox, base, base);
    } catch (e) {
      throw new ContainerError(
        `podman: cannot hand sandbox ${spec.sandbox} to uid ${this.#idMap.base} (${
          (e as Error).message
        }); expected an agent running as root, or idMap: false`,
      );
    }
  }
}
