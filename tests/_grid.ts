/**
 * Test fixture: a real grid in a temp dir — CA on disk, a broker serving
 * real mutual-TLS HTTPS (in this process, or as its own process with the
 * broker's permissions), token dirs for a user and an agent, and a user
 * client. Nothing is mocked.
 *
 * @module
 */
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import { type RunningBroker, startBroker } from "../src/broker/broker.ts";
import type { BrokerOptions } from "../src/broker/handler.ts";
import {
  agentCommand,
  type AgentCommandOptions,
  type BrokerProcess,
  startBrokerProcess,
} from "../src/launch/role_process.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { createCa, type IssueOptions, TokenIssuer } from "../src/token/mod.ts";

/** Whether CI promised every tool its script installs. */
export const IN_CI = Deno.env.get("CI") === "true";

/** Absolute path of a program, or undefined. */
export function which(program: string): string | undefined {
  for (
    const dir of ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
  ) {
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return `${dir}/${program}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * `ignore` value for a test that needs `program`: skipped locally when it
 * is missing, but never under `CI=true` (there the test runs and fails).
 */
export function needs(program: string): boolean {
  return !IN_CI && which(program) === undefined;
}

/** A grid for one test. */
export interface Grid {
  /** Temp root (removed by `close`). */
  dir: string;
  /** Broker state dir. */
  stateDir: string;
  /** Broker base URL. */
  url: string;
  /** CA PEMs. */
  ca: { certPem: string; keyPem: string };
  /** Issues tokens from the grid's CA. */
  issuer: TokenIssuer;
  /** In-process broker (when not started as a process). */
  broker?: RunningBroker;
  /** Broker child process (with `process: true`). */
  brokerProcess?: BrokerProcess;
  /** USER token dir of `jdoe`. */
  userTokenDir: string;
  /** JOB_AGENT token dir of `test-site`. */
  agentTokenDir: string;
  /** Client as user `jdoe`. */
  user: BrokerClient;
  /** Writes a token dir for any identity; returns its path. */
  token(name: string, opts: IssueOptions): Promise<string>;
  /** A client with the token in `tokenDir`. */
  client(tokenDir: string): Promise<BrokerClient>;
  /** Submits a JDL as `jdoe`; returns the job ID. */
  submit(jdl: string): Promise<string>;
  /** Runs an agent process to completion; returns its exit code and log. */
  runAgent(
    opts?: Partial<AgentCommandOptions> & {
      timeoutMs?: number;
      /** More environment for the agent (e.g. DOCKER_HOST). */
      env?: Record<string, string>;
    },
  ): Promise<{ code: number; log: string; stdout: string }>;
  /** Stops everything and removes the temp dir. */
  close(): Promise<void>;
}

/** Options of {@link startGrid}. */
export interface GridOptions extends BrokerOptions {
  /** Run the broker as its own process. @default false */
  process?: boolean;
}

/** Starts a grid. Always `await grid.close()` (use try/finally). */
export async function startGrid(opts: GridOptions = {}): Promise<Grid> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-test-" });
  // The work root below must be reachable by the payload user (an agent
  // running as root runs payloads as nobody, README "Threat model"):
  // traversable, not listable; the token and state dirs stay 0700.
  await Deno.chmod(dir, 0o711);
  const stateDir = `${dir}/state`;
  await Deno.mkdir(`${stateDir}/ca`, { recursive: true, mode: 0o700 });
  const ca = await createCa();
  await Deno.writeTextFile(`${stateDir}/ca/ca.pem`, ca.certPem);
  await Deno.writeTextFile(`${stateDir}/ca/ca.key`, ca.keyPem, { mode: 0o600 });
  const issuer = await TokenIssuer.fromPem(ca);
  let broker: RunningBroker | undefined;
  let brokerProcess: BrokerProcess | undefined;
  if (opts.process) {
    brokerProcess = await startBrokerProcess({ stateDir });
  } else {
    broker = await startBroker({ stateDir, ...opts });
  }
  const url = broker?.url ?? brokerProcess!.url;
  const clients: BrokerClient[] = [];
  const token = async (name: string, o: IssueOptions) => {
    const path = `${dir}/tokens/${name}`;
    await writeTokenDir(path, await issuer.issue(o), ca.certPem);
    return path;
  };
  const client = async (tokenDir: string) => {
    const c = new BrokerClient(url, await readTokenDir(tokenDir));
    clients.push(c);
    return c;
  };
  const userTokenDir = await token("user", {
    role: "USER",
    subject: "jdoe",
    ttlSeconds: 3600,
  });
  const agentTokenDir = await token("agent", {
    role: "JOB_AGENT",
    subject: "test-site",
    ttlSeconds: 3600,
  });
  const user = await client(userTokenDir);
  const grid: Grid = {
    dir,
    stateDir,
    url,
    ca,
    issuer,
    broker,
    brokerProcess,
    userTokenDir,
    agentTokenDir,
    user,
    token,
    client,
    submit: async (jdl) => {
      const r = await user.request("POST", "/api/v1/jobs", { body: jdl });
      return (await r.json()).jobId;
    },
    runAgent: async (o = {}) => {
      const { cmd, args } = agentCommand({
        broker: url,
        tokenDir: o.tokenDir ?? agentTokenDir,
        workRoot: o.workRoot ?? `${dir}/work`,
        containers: o.containers ?? "auto",
        extraArgs: o.extraArgs ?? ["--max-empty", "1", "--heartbeat", "2"],
      });
      const child = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1", ...o.env },
      }).spawn();
      const timer = setTimeout(
        () => child.kill("SIGKILL"),
        o.timeoutMs ?? 120_000,
      );
      const stdout = new Response(child.stdout).text();
      const stderr = new Response(child.stderr).text();
      const status = await child.status;
      clearTimeout(timer);
      // A leftover grandchild could hold the pipes open: don't wait forever.
      const drained = (p: Promise<string>) => {
        let t: ReturnType<typeof setTimeout> | undefined;
        return Promise.race([
          p,
          new Promise<string>((r) =>
            t = setTimeout(() => r("<pipe held open>"), 5000)
          ),
        ]).finally(() => clearTimeout(t));
      };
      return {
        code: status.code,
        log: await drained(stderr),
        stdout: await drained(stdout),
      };
    },
    close: async () => {
      for (const c of clients) c.close();
      await broker?.close();
      await brokerProcess?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  return grid;
}
