/**
 * What apptainer and singularity share: the same `exec` command line
 * (apptainer is singularity's renamed successor).
 *
 * @module
 */
import {
  type Capabilities,
  ContainerError,
  type LaunchSpec,
  SANDBOX_PATH,
} from "./driver.ts";

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

/**
 * `BINARY exec --containall --no-home --cleanenv --pid [--net --network
 * none] --bind SRC:DST[:ro]… --pwd /workdir --env K=V… IMAGE argv…`.
 *
 * `--containall` gives a private /tmp, ipc and pid namespace and no host
 * home; binds to paths missing in a read-only sandbox image are created by
 * the runtime's underlay, so `spec.scratch` is not needed.
 */
export function apptainerCommand(
  name: string,
  binary: string,
  spec: LaunchSpec,
): string[] {
  if (!spec.image) {
    throw new ContainerError(
      `${name} needs a directory image; expected --software-dir with containers/<name>/latest`,
    );
  }
  for (
    const p of [
      spec.sandbox,
      ...spec.binds.flatMap((b) => [b.source, b.target]),
    ]
  ) {
    if (p.includes(":") || p.includes(",")) {
      throw new ContainerError(
        `${name}: path ${p} contains ':' or ','; expected paths usable in --bind`,
      );
    }
  }
  const argv = [
    binary,
    "exec",
    "--containall",
    "--no-home",
    "--cleanenv",
    "--pid",
  ];
  if (spec.network === "none") argv.push("--net", "--network", "none");
  argv.push("--bind", `${spec.sandbox}:${SANDBOX_PATH}`);
  for (const b of spec.binds) argv.push("--bind", `${b.source}:${b.target}:ro`);
  argv.push("--pwd", SANDBOX_PATH);
  for (const [k, v] of Object.entries(spec.env)) {
    argv.push("--env", `${k}=${v}`);
  }
  argv.push(spec.image, ...spec.argv);
  return argv;
}
