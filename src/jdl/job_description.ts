/**
 * The typed view of a parsed JDL.
 *
 * @module
 */
import type { Expr, JdlAttribute } from "./ast.ts";
import type { SplitSpec } from "./split.ts";

/** One `OutputFile` entry, e.g. `"out.root@disk=2"`. */
export interface OutputEntry {
  /** File name or glob, relative to the sandbox. */
  name: string;
  /**
   * Options after `@`: `key=value` pairs (key lower-cased) and bare words
   * such as storage element names (kept as written, value `""`).
   */
  options: Record<string, string>;
}

/** One `OutputArchive` entry, e.g. `"logs.zip:std*,*.log@disk=1"`. */
export interface OutputArchive {
  /** The archive's file name, relative to the sandbox. */
  archive: string;
  /** File names or globs to put in the archive (at least one). */
  patterns: string[];
  /** Options after `@`, as in {@linkcode OutputEntry.options}. */
  options: Record<string, string>;
}

/**
 * A parsed and validated JDL. The typed fields are derived from
 * `attributes`, which is what {@linkcode formatJdl} prints. Optional fields
 * are absent (not `undefined`) when their key is missing.
 */
export interface JobDescription {
  /** `Executable`: an absolute path, or the base name of an `InputFile`. */
  executable: string;
  /** `Arguments`, split into words like a POSIX shell would. */
  arguments: string[];
  /** `InputFile` logical file names, `LF:` stripped. */
  inputFile: string[];
  /** `InputData` logical file names, `LF:` stripped. */
  inputData: string[];
  /** `OutputFile` entries. */
  outputFile: OutputEntry[];
  /** `OutputArchive` entries. */
  outputArchive: OutputArchive[];
  /** `TTL` in seconds. @default {3600} */
  ttl: number;
  /** `MemorySize` in bytes (plain numbers in the JDL are MB). */
  memorySize?: number;
  /** `WorkDirectorySize` in bytes (plain numbers in the JDL are MB). */
  workDirectorySize?: number;
  /** `CPUCores`. @default {1} */
  cpuCores: number;
  /** `Packages`, e.g. `"VO_ALICE@AliPhysics::vAN-20240101-1"`. */
  packages: string[];
  /** `ValidationCommand`. */
  validationCommand?: string;
  /** `JDLVariables`: names of keys exported to the payload's environment. */
  jdlVariables: string[];
  /** `Container`: image tag. */
  container?: string;
  /**
   * `Network`: `"none"` (an empty network namespace; broker calls still go
   * through the agent's relay) or `"host"`; absent, the site's default.
   */
  network?: "none" | "host";
  /** `Priority`. @default {0} */
  priority: number;
  /** `Price`. */
  price?: number;
  /** `MaxWaitingTime` in seconds. */
  maxWaitingTime?: number;
  /** `User`. */
  user?: string;
  /** `Split`: this is a masterjob (see `split.ts`). */
  split?: SplitSpec;
  /** `Requirements`, unevaluated. */
  requirements?: Expr;
  /** Every statement, known or not, in source order. */
  attributes: JdlAttribute[];
}
