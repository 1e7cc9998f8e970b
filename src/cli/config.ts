/**
 * The user's configuration, the way alien.py and DIRAC users know it: a
 * file holds the broker URLs and the token directory, the environment
 * overrides the file, and flags override both.
 *
 * The file is `$SPLITPILOT_CONFIG`, else `~/.splitpilot/config`:
 *
 * ```
 * # ~/.splitpilot/config
 * broker = https://broker.example.org:8443, https://[2001:db8::1]:8443
 * token  = ~/.splitpilot/user
 * ```
 *
 * `broker` lists one or more URLs (the first is used; every host listed is
 * one the installed command may reach). `token` is a directory with
 * `cert.pem`, `key.pem` and `ca.pem`; relative paths in the file are
 * relative to the file.
 *
 * @example
 * ```ts
 * const settings = await loadSettings({ broker: undefined }, (n) => Deno.env.get(n));
 * console.log(settings.broker.value, "from", settings.broker.source);
 * ```
 *
 * @module
 */
import { UsageError } from "./cli_io.ts";

/** Environment variable naming the config file. */
export const CONFIG_ENV = "SPLITPILOT_CONFIG";
/** Environment variable naming the broker URL(s). */
export const BROKER_ENV = "SPLITPILOT_BROKER";
/** Environment variable naming the USER token directory. */
export const TOKEN_ENV = "SPLITPILOT_TOKEN";

/** One effective value and where it came from. */
export interface Setting<T> {
  /** The value; undefined when nothing sets it. */
  value: T | undefined;
  /** `flag --x`, `env NAME`, `file PATH:LINE`, `default` or `unset`. */
  source: string;
}

/** The effective configuration. */
export interface Settings {
  /** The config file, and whether it exists. */
  file: Setting<string> & { exists: boolean };
  /** Broker URLs; the first is the one used. */
  broker: Setting<string[]>;
  /** USER token directory (relative paths stay relative to the cwd unless `cwd` is given). */
  token: Setting<string>;
  /** Every broker URL of the file and the environment (what the launcher lets the command reach). */
  allowedBrokers: string[];
}

/** Reads an environment variable; tests pass a map. */
export type EnvGet = (name: string) => string | undefined;

/** Splits `a, b c` into URLs and checks each. */
export function parseBrokerList(text: string, where: string): string[] {
  const urls = text.split(/[\s,]+/).filter(Boolean);
  for (const u of urls) brokerHost(u, where);
  return urls;
}

/**
 * The `host:port` of a broker URL, as Deno's `--allow-net` wants it
 * (IPv6 in brackets); throws a {@link UsageError} naming `where`.
 */
export function brokerHost(url: string, where: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(
      `${where}: "${url}" is not a URL; expected https://HOST:PORT, e.g. https://localhost:8443`,
    );
  }
  if (u.protocol !== "https:" || u.pathname !== "/" && u.pathname !== "") {
    throw new UsageError(
      `${where}: "${url}": expected https://HOST:PORT with no path, e.g. https://localhost:8443`,
    );
  }
  return `${u.hostname}:${u.port || "443"}`;
}

function expandHome(path: string, env: EnvGet): string {
  if (path === "~" || path.startsWith("~/")) {
    const home = env("HOME");
    if (!home) throw new UsageError(`cannot expand ${path}: HOME is not set`);
    return home + path.slice(1);
  }
  return path;
}

/**
 * `path` after `~` expansion, made absolute against `base` when one is
 * given (else left relative to the process's working directory).
 */
export function absolute(
  path: string,
  base: string | undefined,
  env: EnvGet,
): string {
  const p = expandHome(path, env);
  if (p.startsWith("/") || base === undefined) return p;
  return `${base.replace(/\/+$/, "")}/${p}`.replace(/\/\.\//g, "/");
}

/** The config file's lines as `key → {value, line}`. */
export function parseConfigFile(
  text: string,
  path: string,
): Map<string, { value: string; line: number }> {
  const out = new Map<string, { value: string; line: number }>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!line) return;
    const m = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!m || !["broker", "token"].includes(m[1])) {
      throw new UsageError(
        `${path}:${
          i + 1
        }: expected "broker = URL[, URL...]" or "token = DIR", got "${line}"`,
      );
    }
    out.set(m[1], { value: m[2], line: i + 1 });
  });
  return out;
}

/**
 * The effective configuration: `flags` (`broker`, `token`) over the
 * environment over the config file over defaults. `cwd`, when given,
 * resolves relative paths of flags and the environment (the CLI itself
 * runs in the user's directory and may not read it, so it passes none).
 */
export async function loadSettings(
  flags: { broker?: string; token?: string },
  env: EnvGet,
  cwd?: string,
): Promise<Settings> {
  const home = env("HOME");
  const fileFromEnv = env(CONFIG_ENV);
  const filePath = fileFromEnv
    ? absolute(fileFromEnv, cwd, env)
    : home
    ? `${home}/.splitpilot/config`
    : undefined;
  const file: Settings["file"] = {
    value: filePath,
    source: fileFromEnv ? `env ${CONFIG_ENV}` : home ? "default" : "unset",
    exists: false,
  };
  let entries = new Map<string, { value: string; line: number }>();
  if (filePath) {
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(filePath);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new UsageError(
          `cannot read the config file ${filePath}: ${(e as Error).message}`,
        );
      }
      if (fileFromEnv) {
        throw new UsageError(
          `${CONFIG_ENV}=${fileFromEnv}: no such file ${filePath}`,
        );
      }
    }
    if (text !== undefined) {
      file.exists = true;
      entries = parseConfigFile(text, filePath);
    }
  }
  const fileDir = filePath?.slice(0, filePath.lastIndexOf("/")) || "/";
  const fileBroker = entries.get("broker");
  const fileToken = entries.get("token");
  const envBroker = env(BROKER_ENV);
  const envToken = env(TOKEN_ENV);

  const fromFile = fileBroker
    ? parseBrokerList(fileBroker.value, `${filePath}:${fileBroker.line}`)
    : [];
  const fromEnv = envBroker ? parseBrokerList(envBroker, BROKER_ENV) : [];
  let broker: Setting<string[]>;
  if (flags.broker !== undefined) {
    broker = {
      value: parseBrokerList(flags.broker, "--broker"),
      source: "flag --broker",
    };
  } else if (fromEnv.length) {
    broker = { value: fromEnv, source: `env ${BROKER_ENV}` };
  } else if (fromFile.length) {
    broker = {
      value: fromFile,
      source: `file ${filePath}:${fileBroker!.line}`,
    };
  } else broker = { value: undefined, source: "unset" };

  let token: Setting<string>;
  if (flags.token !== undefined) {
    token = { value: absolute(flags.token, cwd, env), source: "flag --token" };
  } else if (envToken) {
    token = { value: absolute(envToken, cwd, env), source: `env ${TOKEN_ENV}` };
  } else if (fileToken) {
    token = {
      value: absolute(fileToken.value, fileDir, env),
      source: `file ${filePath}:${fileToken.line}`,
    };
  } else if (home) {
    token = { value: `${home}/.splitpilot/user`, source: "default" };
  } else token = { value: undefined, source: "unset" };

  return {
    file,
    broker,
    token,
    allowedBrokers: [...new Set([...fromFile, ...fromEnv])],
  };
}
