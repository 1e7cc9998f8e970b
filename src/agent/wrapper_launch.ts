/**
 * Builds the one generic launch of a wrapper: Deno flags from the role
 * table, paths as the container sees them, and the driver's argv.
 *
 * @module
 */
import {
  type ContainerDriver,
  type LaunchSpec,
  PROGRAM_PATH,
  SANDBOX_PATH,
} from "../container/driver.ts";
import { toDenoFlags, wrapperPermissions } from "../permissions/table.ts";

/** Where the wrapper program comes from. */
export interface WrapperProgram {
  /** The deno executable on the host. */
  deno: string;
  /**
   * Host files/dirs making up the wrapper, bound read-only into the
   * container below {@link PROGRAM_PATH} under their base names.
   */
  files: string[];
  /** Entry file (one of `files`, or inside one of them). */
  entry: string;
}

/** The wrapper program from this source checkout. */
export function sourceWrapperProgram(): WrapperProgram {
  const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  return {
    deno: Deno.execPath(),
    files: [`${root}/wrapper.ts`, `${root}/src`],
    entry: `${root}/wrapper.ts`,
  };
}

/** Inputs of {@link buildLaunch}. */
export interface LaunchInput {
  /** The runtime. */
  driver: ContainerDriver;
  /** The wrapper program. */
  program: WrapperProgram;
  /** Host path of the job sandbox. */
  sandbox: string;
  /** Broker `host:port` (the wrapper's only network peer). */
  broker: string;
  /** Programs the payload may run, with sandbox paths as seen inside. */
  payload: (workdir: string) => string[];
  /** Directory rootfs, if the job uses an image. */
  image?: string;
  /** Deno cache dir for the `none` runtime. */
  denoDir: string;
  /** Extra wrapper arguments (e.g. `--self-test`). @default [] */
  extraArgs?: string[];
}

/** The argv to spawn, plus what it was built from (for logs and tests). */
export interface Launch {
  /** Full argv; argv[0] is the program to spawn. */
  argv: string[];
  /** The container-side spec. */
  spec: LaunchSpec;
  /** The wrapper's Deno permission flags. */
  denoFlags: string[];
}

/** Builds the launch argv for one wrapper. */
export function buildLaunch(input: LaunchInput): Launch {
  const relocate = input.driver.capabilities.relocates;
  const workdir = relocate ? SANDBOX_PATH : input.sandbox;
  const binds = relocate
    ? [
      { source: input.program.deno, target: `${PROGRAM_PATH}/deno` },
      ...input.program.files.map((f) => ({
        source: f,
        target: `${PROGRAM_PATH}/${f.slice(f.lastIndexOf("/") + 1)}`,
      })),
    ]
    : [];
  const map = (hostPath: string) => {
    if (!relocate) return hostPath;
    for (const f of input.program.files) {
      if (hostPath === f || hostPath.startsWith(f + "/")) {
        return `${PROGRAM_PATH}/${f.slice(f.lastIndexOf("/") + 1)}${
          hostPath.slice(f.length)
        }`;
      }
    }
    return hostPath;
  };
  const denoFlags = toDenoFlags(wrapperPermissions({
    broker: input.broker,
    sandbox: workdir,
    payload: input.payload(workdir),
  }));
  const deno = relocate ? `${PROGRAM_PATH}/deno` : input.program.deno;
  const inner = [
    deno,
    "run",
    "--no-config",
    "--no-lock",
    "--no-prompt",
    ...denoFlags,
    map(input.program.entry),
    "--workdir",
    workdir,
    ...(input.extraArgs ?? []),
  ];
  const spec: LaunchSpec = {
    argv: inner,
    sandbox: input.sandbox,
    image: input.image,
    binds,
    env: {
      HOME: workdir,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      TMPDIR: "/tmp",
      NO_COLOR: "1",
      DENO_DIR: relocate ? "/tmp/.deno" : input.denoDir,
      DENO_NO_UPDATE_CHECK: "1",
    },
    network: "host",
  };
  return { argv: input.driver.command(spec), spec, denoFlags };
}
