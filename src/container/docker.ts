/**
 * The docker runtime (the slides' `USE_CONTAINERS=DOCKER`). Only a docker
 * client exists on our CI hosts (no daemon): the argv is golden-tested,
 * and the real E2E runs where `docker info` works.
 *
 * docker cannot run a directory rootfs, so it takes an image reference:
 * the job's `Container` tag as is (`alice/el9:2024-01`), else
 * {@link DockerOptions.image}. The daemon detaches the container from its
 * client, so, as for podman, the launch runs the wrapper under the agent
 * lease shim (`lease.ts`).
 *
 * @module
 */
import {
  type Capabilities,
  type ContainerDriver,
  ContainerError,
  type LaunchSpec,
  SANDBOX_PATH,
} from "./driver.ts";

/** Options of {@link DockerDriver}. */
export interface DockerOptions {
  /** The docker client. @default "/usr/bin/docker" */
  binary?: string;
  /** Image for jobs without a `Container` tag. @default "debian:bookworm-slim" */
  image?: string;
}

/** Launches through `docker run`. */
export class DockerDriver implements ContainerDriver {
  /** Runtime name as `USE_CONTAINERS` and the JDL spell it: `docker`. */
  readonly name = "docker" as const;
  /** Path of the `docker` program the agent runs. */
  readonly binary: string;
  /** What a `docker` launch guarantees (see {@link Capabilities}). */
  readonly capabilities: Capabilities = {
    pidNamespace: true,
    networkNone: true,
    rootless: false,
    relocates: true,
    diesWithParent: false,
    needsImage: false,
    directoryImages: false,
  };
  readonly #image: string;

  /** Creates the driver. */
  constructor(opts: DockerOptions = {}) {
    this.binary = opts.binary ?? "/usr/bin/docker";
    this.#image = opts.image ?? "debian:bookworm-slim";
  }

  /** The docker argv for `spec` (private pid namespace is docker's default). */
  command(spec: LaunchSpec): string[] {
    if (spec.image) {
      throw new ContainerError(
        `docker cannot run directory image ${spec.image}; expected an image reference (JDL Container)`,
      );
    }
    for (const p of [spec.sandbox, ...spec.binds.map((b) => b.source)]) {
      if (p.includes(":")) {
        throw new ContainerError(
          `docker: path ${p} contains ':'; expected paths usable in -v`,
        );
      }
    }
    const argv = [
      this.binary,
      "run",
      "--rm",
      "-i",
      "--network",
      spec.network,
      "--ipc",
      "private",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--read-only",
      "--tmpfs",
      "/tmp:rw,nosuid,nodev,mode=1777",
      "--log-driver",
      "none",
    ];
    for (const dir of spec.scratch ?? []) argv.push("--tmpfs", `${dir}:ro`);
    argv.push("-v", `${spec.sandbox}:${SANDBOX_PATH}`);
    for (const b of spec.binds) argv.push("-v", `${b.source}:${b.target}:ro`);
    argv.push("-w", SANDBOX_PATH);
    for (const [k, v] of Object.entries(spec.env)) argv.push("-e", `${k}=${v}`);
    argv.push(spec.imageRef ?? this.#image, ...spec.argv);
    return argv;
  }
}
