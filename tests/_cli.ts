/**
 * Runs `splitpilot` as a user does: the launcher (`scripts/splitpilot.ts`,
 * what `deno task install` puts on PATH) in a directory of the test's own,
 * with a HOME of its own, so each command gets exactly the permissions its
 * configuration allows.
 */
export const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** The launcher's flags, as in the installed shim. */
export const LAUNCHER = [
  "run",
  "--no-prompt",
  "--quiet",
  "--config",
  `${ROOT}/deno.json`,
  "--allow-read",
  "--allow-env",
  "--allow-run",
  "--allow-sys=hostname,networkInterfaces",
  `${ROOT}/scripts/splitpilot.ts`,
];

/** One finished command. */
export interface Run {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** A user: a home and a working directory. */
export interface User {
  /** HOME. */
  home: string;
  /** Working directory (outside the repository). */
  cwd: string;
  /** Extra environment. */
  env?: Record<string, string>;
}

/**
 * What a test user shares with the machine's user: Deno's and npm's caches
 * (so a fresh HOME downloads nothing) and the network settings.
 */
export function cacheEnv(): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/root";
  const out: Record<string, string> = {
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`,
    npm_config_cache: Deno.env.get("npm_config_cache") ?? `${home}/.npm`,
  };
  for (
    const k of [
      "DENO_TLS_CA_STORE",
      "DENO_CERT",
      "HTTPS_PROXY",
      "HTTP_PROXY",
      "NO_PROXY",
      "https_proxy",
      "http_proxy",
      "no_proxy",
      "NPM_CONFIG_REGISTRY",
      "npm_config_registry",
      "NODE_EXTRA_CA_CERTS",
      "SSL_CERT_FILE",
      "SSL_CERT_DIR",
    ]
  ) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The environment of `user`'s commands. */
export function userEnv(user: User): Record<string, string> {
  return {
    HOME: user.home,
    PATH: "/usr/local/bin:/usr/bin:/bin",
    NO_COLOR: "1",
    // The machine's caches: a fresh HOME downloads nothing (the broker
    // and the CLI load npm packages, e.g. the PostgreSQL driver).
    ...cacheEnv(),
    ...user.env,
  };
}

/** Runs `splitpilot ...args` to completion. */
export function splitpilot(user: User, ...args: string[]): Promise<Run> {
  return runSplitpilot(user, args);
}

/** Runs `splitpilot ...args` to completion, `stdin` as its input. */
export async function runSplitpilot(
  user: User,
  args: string[],
  opts: { stdin?: string } = {},
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...LAUNCHER, ...args],
    cwd: user.cwd,
    clearEnv: true,
    env: userEnv(user),
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/**
 * The user of a test grid: a home of its own in the grid's directory,
 * working there, configured by `SPLITPILOT_BROKER`/`SPLITPILOT_TOKEN`
 * (or by `env` instead, e.g. to leave the broker out).
 */
export function gridUser(
  grid: { dir: string; url: string; userTokenDir: string },
  env?: Record<string, string>,
): User {
  const home = `${grid.dir}/home`;
  Deno.mkdirSync(home, { recursive: true });
  return {
    home,
    cwd: grid.dir,
    env: env ?? {
      SPLITPILOT_BROKER: grid.url,
      SPLITPILOT_TOKEN: grid.userTokenDir,
    },
  };
}

/** A long-running `splitpilot` (a broker): started, waited for, stopped. */
export interface Background {
  /** The process. */
  child: Deno.ChildProcess;
  /** Its first stdout line (e.g. "broker listening on …"). */
  firstLine: string;
  /** SIGTERM, then waits; returns stderr. */
  stop(): Promise<string>;
}

/** Starts `splitpilot ...args` and waits for its first stdout line. */
export async function startSplitpilot(
  user: User,
  ...args: string[]
): Promise<Background> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...LAUNCHER, ...args],
    cwd: user.cwd,
    clearEnv: true,
    env: userEnv(user),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      const status = await child.status;
      throw new Error(
        `splitpilot ${args.join(" ")} exited ${status.code}: ${await stderr}`,
      );
    }
    buf += value;
  }
  // Keep draining so the child never blocks on a full pipe.
  const rest = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return {
    child,
    firstLine: buf.split("\n")[0],
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await rest;
      return await stderr;
    },
  };
}

/** A free loopback port. */
export function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
