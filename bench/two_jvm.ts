/**
 * The two-JVM baseline (the JAliEn design): an agent JVM starts a wrapper
 * JVM and sends it the job as a serialised object over its stdin; the
 * wrapper JVM then starts the payload. Sources in `bench/java/`, compiled
 * with the local JDK into a temp dir on every run.
 *
 * @module
 */

import { TextLineStream } from "@std/streams";

const JAVA_DIR = new URL("./java/", import.meta.url).pathname;
const SOURCES = ["JobDescription.java", "WrapperJvm.java", "AgentJvm.java"];

/** A compiled baseline, ready to run. */
export interface TwoJvm {
  /** The `java` launcher. */
  java: string;
  /** Directory of the compiled classes (the class path). */
  classes: string;
  /** `java -version`, first line. */
  version: string;
  /** Removes the compiled classes. */
  close(): Promise<void>;
}

function findProgram(name: string): string | undefined {
  for (const dir of ["/usr/local/bin", "/usr/bin", "/bin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Compiles the baseline. Returns a reason string instead when there is no
 * JDK, so the harness can print a skip note.
 */
export async function prepareTwoJvm(): Promise<TwoJvm | string> {
  const java = findProgram("java");
  const javac = findProgram("javac");
  if (!java || !javac) {
    return `skipped: no ${
      java ? "javac" : "java"
    } on this machine (needs a JDK ≥ 17)`;
  }
  const classes = await Deno.makeTempDir({ prefix: "splitpilot-jvm-" });
  const built = await new Deno.Command(javac, {
    args: [
      "--release",
      "17",
      "-d",
      classes,
      ...SOURCES.map((s) => `${JAVA_DIR}${s}`),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!built.success) {
    await Deno.remove(classes, { recursive: true }).catch(() => {});
    return `skipped: javac failed: ${
      new TextDecoder().decode(built.stderr).trim().split("\n")[0]
    }`;
  }
  const v = await new Deno.Command(java, { args: ["-version"] }).output();
  const version = new TextDecoder().decode(v.stderr).split("\n")[0].trim();
  return {
    java,
    classes,
    version,
    close: () => Deno.remove(classes, { recursive: true }).catch(() => {}),
  };
}

/** Options of {@link startAgentJvm}. */
export interface AgentJvmOptions {
  /** The payload argv, the same for every job. */
  payload: string[];
  /** Launcher argv before `java` (e.g. bwrap … --). @default [] */
  launcher?: string[];
}

/** One job as the agent JVM saw it. */
export interface AgentJvmJob {
  /** Agent starts the launch → payload's first output, ms (NaN if the
   * payload printed no `date +%s%N` timestamp). */
  launchMs: number;
  /** The payload's exit code. */
  exitCode: number;
}

/** A job for the agent JVM. */
export interface AgentJvmJobSpec {
  /** Job ID. */
  id: string;
  /** Job token dir (cert.pem, key.pem, ca.pem): the wrapper JVM then
   * reports STARTED, RUNNING, SAVING, DONE to `broker` with it. */
  tokenDir?: string;
  /** Broker base URL (with `tokenDir`). */
  broker?: string;
}

/** A running, long-lived agent JVM (warm after its first job). */
export interface AgentJvm {
  /** The agent JVM's process ID. */
  pid: number;
  /** Hands it one job; resolves when the wrapper JVM has exited. */
  runJob(job: AgentJvmJobSpec): Promise<AgentJvmJob>;
  /** Closes its stdin and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Parses one `launch T0 FIRSTLINE EXIT` line of the agent JVM, where
 * FIRSTLINE is the payload's `date +%s%N` output when timed.
 */
export function parseLaunchLine(line: string): AgentJvmJob | undefined {
  const m = /^launch (\d+) (\S+) (\S+)$/.exec(line.trim());
  if (!m) return undefined;
  const launchMs = /^\d{16,}$/.test(m[2])
    ? Number(BigInt(m[2]) - BigInt(m[1])) / 1e6
    : NaN;
  return { launchMs, exitCode: Number(m[3]) };
}

/** Starts an agent JVM; feed it jobs with `runJob`, one at a time. */
export function startAgentJvm(
  jvm: TwoJvm,
  opts: AgentJvmOptions,
): AgentJvm {
  const launcher = opts.launcher ?? [];
  const child = new Deno.Command(jvm.java, {
    args: [
      "-cp",
      jvm.classes,
      "AgentJvm",
      "--payload",
      ...opts.payload,
      ...(launcher.length > 0 ? ["--launcher", ...launcher] : []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream())[Symbol.asyncIterator]();
  const errText = new Response(child.stderr).text();
  const failed = async (what: string) => {
    const status = await child.status;
    return new Error(
      `agent JVM ${what} (exit ${status.code}): ${
        (await errText).trim().slice(-800)
      }`,
    );
  };
  let queue = Promise.resolve();
  return {
    pid: child.pid,
    runJob: (job) => {
      const run = queue.then(async () => {
        const line = job.tokenDir
          ? `job ${job.id} ${job.tokenDir} ${job.broker}`
          : `job ${job.id}`;
        await stdin.write(new TextEncoder().encode(line + "\n"));
        for (;;) {
          const next = await lines.next();
          if (next.done) throw await failed(`ended during job ${job.id}`);
          const result = parseLaunchLine(next.value);
          if (result) return result;
        }
      });
      queue = run.then(() => {}, () => {});
      return run;
    },
    close: async () => {
      await stdin.close().catch(() => {});
      const status = await child.status;
      await errText;
      if (!status.success) throw await failed("failed");
    },
  };
}
