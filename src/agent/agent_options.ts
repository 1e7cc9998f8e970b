/**
 * The agent's configuration (CLI flags map 1:1) and the summary of a run.
 *
 * @module
 */
import type { PayloadNetwork } from "../jdl/mod.ts";
import type { RuntimeName } from "../container/driver.ts";
import type { PayloadUser } from "../container/payload_user.ts";
import type { WrapperOutcome } from "./wrapper_outcome.ts";
import type { WrapperProgram } from "./wrapper_launch.ts";

/** Agent configuration (CLI flags map 1:1). */
export interface AgentOptions {
  /** Broker base URL, `https://host:port`. */
  broker: string;
  /** Directory with the agent token: cert.pem, key.pem, ca.pem. */
  tokenDir: string;
  /** Work root for sandboxes. */
  workRoot: string;
  /** `USE_CONTAINERS`. @default "auto" */
  containers?: RuntimeName | "auto";
  /** Runtime program overrides. @default {} */
  binaries?: Partial<Record<RuntimeName, string>>;
  /**
   * Software dir (CVMFS-like: `containers/<name>/latest`, `etc/setup.sh`).
   * @default `<workRoot>/software` when it exists
   */
  softwareDir?: string;
  /** Image for jobs without a JDL `Container`. @default "default" */
  image?: string;
  /** Wrapper start failures in a row that stop the agent. @default 3 */
  maxStartFailures?: number;
  /** Cores of the slot. @default 1 */
  cores?: number;
  /** Slot lifetime, s. @default 86400 */
  ttl?: number;
  /** Memory of the slot, bytes (0 = unknown). @default 0 */
  memory?: number;
  /** Disk of the slot, bytes (0 = unknown). @default 0 */
  disk?: number;
  /** Site name. @default "local" */
  site?: string;
  /** CE name. @default "local::ce" */
  ce?: string;
  /** Packages the site provides. @default [] */
  packages?: string[];
  /**
   * Other site attributes for `other.X` in Requirements (`--attr`), e.g.
   * `{ GridPartitions: ["quickreco"], Price: 1 }`. The broker adds
   * `Type: "machine"` when absent. @default {}
   */
  attributes?: Record<string, string | number | string[]>;
  /** Keep polling when the queue is empty. @default false */
  wait?: boolean;
  /** Consecutive empty matches (while idle) before exiting. @default 3 */
  maxEmpty?: number;
  /** Heartbeat interval, s. @default 60 */
  heartbeatSeconds?: number;
  /** Interval of the cheap kill check, s (0: heartbeat only). @default 2 */
  killCheckSeconds?: number;
  /** Watchdog sampling interval, s. @default 5 */
  sampleSeconds?: number;
  /**
   * Usage source: `auto` takes cgroup v2 where the slot has a usable cgroup
   * of its own, else procfs; `off` enforces no limits. @default "auto"
   */
  sampler?: "auto" | "procfs" | "cgroup" | "off";
  /** Wall time a job gets beyond its TTL before the TTL kill, s. @default 60 */
  ttlGraceSeconds?: number;
  /** Grace after `cancel` before SIGTERM to the tree, s. @default 10 */
  killGraceSeconds?: number;
  /** Memory kill threshold as a multiple of the limit. @default 1.2 */
  memoryFactor?: number;
  /** Window without CPU progress that kills a job, s (0 = off). @default 3600 */
  lowCpuWindowSeconds?: number;
  /** CPU s per wall s below which the window counts as idle. @default 0.01 */
  lowCpuFraction?: number;
  /**
   * Safety margin, s: subtracted from the time left (slot TTL, and agent
   * token lifetime minus the margin again) before matching. @default 60
   */
  marginSeconds?: number;
  /** The wrapper program. @default this checkout's wrapper.ts */
  program?: WrapperProgram;
  /** Payload user (bwrap/none as root, podman). @default nobody 65534:65534 */
  payloadUser?: PayloadUser;
  /** Let `auto` fall back to `none` (no container). @default false */
  allowNoContainer?: boolean;
  /**
   * Audit every wrapper's permission checks (`src/agent/audit_sink.ts`);
   * `false` is recorded in each job's trace. @default true
   */
  audit?: boolean;
  /**
   * The site's payload network: the default for jobs without a JDL
   * `Network`, and with `none` the only one offered. @default "host"
   */
  payloadNetwork?: PayloadNetwork;
  /**
   * `relay`: the wrapper has no network, the agent makes its broker calls
   * (README, "The relay"); `direct`: the wrapper gets the job token and
   * `--allow-net` to the broker (comparison benchmarks). @default "relay"
   */
  wrapperNet?: "relay" | "direct";
  /** Log sink. @default stderr */
  log?: (line: string) => void;
  /** Aborted on preemption (SIGTERM/SIGINT). */
  signal?: AbortSignal;
}

/** Summary of an agent run. */
export interface AgentReport {
  /** Runtime used. */
  runtime: RuntimeName;
  /** Usage source (`procfs`, `cgroup` or `off`). */
  sampler: string;
  /** One entry per job run. */
  jobs: { jobId: string; outcome: WrapperOutcome }[];
}
