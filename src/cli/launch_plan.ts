/**
 * The installed `splitpilot` command's permissions, from its configuration.
 *
 * The launcher (`scripts/splitpilot.ts`) reads the config, then runs the
 * dispatcher (`main.ts`) as a second Deno process whose flags allow only:
 *
 * - net: the broker hosts of the config file and `$SPLITPILOT_BROKER`
 *   (any name or address, IPv4 or IPv6); a `--broker` flag naming another
 *   host is refused by Deno. `broker serve` gets the broker row of the
 *   permission table (its listen address, its state dir) instead;
 * - read: the token dir, the config file, and the files named on the
 *   command line (arguments that name an existing path, plus the
 *   command's path flags such as `--out` and `--state`);
 * - write: the named files and the output dir;
 * - env: `HOME`, `SPLITPILOT_*`, `NO_COLOR`;
 * - run: only for `agent`, the deno binary.
 *
 * Relative paths resolve against the user's directory: `INIT_CWD` when
 * started by `deno task` (which runs in the repository), else the cwd.
 *
 * @example
 * ```ts
 * const plan = await launchPlan(["ps"], (n) => Deno.env.get(n), {
 *   cwd: Deno.cwd(), deno: Deno.execPath(), root: "/opt/splitpilot",
 * });
 * new Deno.Command(plan.cmd, { args: plan.args, cwd: plan.cwd }).spawn();
 * ```
 *
 * @module
 */
import {
  AGENT_ENV,
  brokerPermissions,
  type PermissionSet,
  toDenoFlags,
} from "../permissions/table.ts";
import { COMMANDS } from "./commands.ts";
import { databaseAddress } from "../broker/database_url.ts";
import { parseListen } from "./listen.ts";
import { brokerHost, type EnvGet, loadSettings } from "./config.ts";

/** Environment the CLI may read. */
export const CLI_ENV: readonly string[] = ["HOME", "SPLITPILOT_*", "NO_COLOR"];

/** A process to start: program, arguments, working directory. */
export interface LaunchPlan {
  /** Program (the deno binary). */
  cmd: string;
  /** Arguments. */
  args: string[];
  /** The user's directory. */
  cwd: string;
  /** The permissions granted (for `--print-command` style inspection). */
  permissions: PermissionSet & { sys: string[] };
}

/** Where the launcher runs from. */
export interface LaunchContext {
  /** The user's directory (INIT_CWD or cwd). */
  cwd: string;
  /** The deno binary. */
  deno: string;
  /** The repository root (holds deno.json and src/). */
  root: string;
  /** Resolves a host name to addresses. @default {@link resolveHost} */
  resolveHost?: (name: string) => Promise<string[]>;
}

/**
 * A host name's addresses, through `getent ahosts` (the system resolver,
 * /etc/hosts included), since the launcher has no network permission.
 * `localhost` is always 127.0.0.1 and ::1.
 */
export async function resolveHost(name: string): Promise<string[]> {
  const out = name === "localhost" ? ["127.0.0.1", "::1"] : [];
  try {
    const r = await new Deno.Command("getent", {
      args: ["ahosts", name],
      stdout: "piped",
      stderr: "null",
    }).output();
    for (const line of new TextDecoder().decode(r.stdout).split("\n")) {
      const a = line.split(/\s+/)[0];
      if (a) out.push(a);
    }
  } catch { /* no getent: the name alone */ }
  return [...new Set(out)];
}

/** Values of `--name V` / `--name=V` for the given names (no other parsing). */
export function flagValues(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") break;
    if (a === `--${name}` && i + 1 < args.length) out.push(args[++i]);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

function resolve(path: string, cwd: string): string {
  const p = path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
  // Deno's flag lists are comma-separated: such a path cannot be granted.
  return p.replace(/\/+$/, "") || "/";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The dispatcher's command line for `argv` (command name first). */
export async function launchPlan(
  argv: readonly string[],
  env: EnvGet,
  ctx: LaunchContext,
): Promise<LaunchPlan> {
  const [name, ...rest] = argv;
  const spec = name === undefined ? undefined : COMMANDS[name];
  const perms: PermissionSet & { sys: string[] } = {
    net: [],
    read: [],
    write: [],
    run: [],
    env: [...CLI_ENV],
    sys: [],
  };
  const help = rest.includes("--help") || rest.includes("-h");
  if (spec && !help) {
    const args = rest.slice(
      0,
      rest.indexOf("--") < 0 ? undefined : rest.indexOf("--"),
    );
    // Files named on the command line: every argument naming an existing
    // path, plus the command's path flags (outputs need not exist yet).
    const named = new Set<string>();
    for (const a of args) {
      const v = a.startsWith("--") && a.includes("=")
        ? a.slice(a.indexOf("=") + 1)
        : a;
      if (v === "" || v === "-" || v.startsWith("-")) continue;
      const p = resolve(v, ctx.cwd);
      if (await exists(p)) named.add(p);
    }
    for (const f of spec.paths?.flags ?? []) {
      for (const v of flagValues(args, f)) {
        if (v) named.add(resolve(v, ctx.cwd));
      }
    }
    for (const p of spec.outputs?.(args) ?? []) named.add(resolve(p, ctx.cwd));
    perms.read.push(...named);
    perms.write.push(...named);

    {
      let settings;
      try {
        settings = await loadSettings(
          {
            broker: flagValues(args, "broker").at(-1),
            token: flagValues(args, "token").at(-1),
          },
          env,
          ctx.cwd,
        );
      } catch {
        settings = undefined; // the command itself reports the config error
      }
      if (settings?.file.value) perms.read.push(settings.file.value);
      if (spec.kind === "user" && settings) {
        // The token is read-only: the CLI never writes it.
        if (settings.token.value) perms.read.push(settings.token.value);
        for (const u of settings.allowedBrokers) {
          perms.net.push(brokerHost(u, "broker"));
        }
      }
    }
    if (spec.listen !== undefined) {
      const listen = flagValues(args, "listen").at(-1) ?? spec.listen;
      try {
        parseListen(listen);
        perms.net.push(listen);
      } catch { /* the command says what is wrong with it */ }
    }
    if (spec.kind === "broker") {
      const listen = flagValues(args, "listen").at(-1) ?? "127.0.0.1:8443";
      const state = flagValues(args, "state").at(-1);
      let valid = true;
      try {
        parseListen(listen);
      } catch {
        valid = false; // the command itself says what is wrong with it
      }
      if (state && valid) {
        const files = flagValues(args, "files").at(-1);
        const row = brokerPermissions({
          listen,
          stateDir: resolve(state, ctx.cwd),
          database: databaseAddress(
            flagValues(args, "db").at(-1) ?? env("SPLITPILOT_DB"),
          ),
          filesDir: files ? resolve(files, ctx.cwd) : undefined,
        });
        perms.net.push(...row.net);
        perms.read.push(...row.read);
        perms.write.push(...row.write);
        perms.env.push(...row.env);
        // Listening on a name binds its addresses, and Deno checks those.
        const m = /^([^[\]:]+):(\d+)$/.exec(listen);
        if (m && !/^[\d.]+$/.test(m[1])) {
          for (const a of await (ctx.resolveHost ?? resolveHost)(m[1])) {
            perms.net.push(`${a.includes(":") ? `[${a}]` : a}:${m[2]}`);
          }
        }
      }
      // The default SANs: the host name and the machine's addresses.
      perms.sys.push("hostname", "networkInterfaces");
    } else if (spec.kind === "agent") {
      perms.run.push(ctx.deno);
      perms.read.push(ctx.deno);
      perms.env.push(...AGENT_ENV, "INIT_CWD");
      // `factory` looks for the batch system's commands on PATH.
      for (const d of (env("PATH") ?? "").split(":")) {
        if (d.startsWith("/")) perms.read.push(d);
      }
    }
  }
  const unique = (xs: string[]) =>
    [...new Set(xs)].filter((x) => !x.includes(","));
  for (const k of ["net", "read", "write", "run", "env", "sys"] as const) {
    perms[k] = unique(perms[k]);
  }
  const flags = toDenoFlags(perms);
  if (perms.sys.length) flags.push(`--allow-sys=${perms.sys.join(",")}`);
  return {
    cmd: ctx.deno,
    args: [
      "run",
      "--no-prompt",
      "--config",
      `${ctx.root}/deno.json`,
      ...flags,
      `${ctx.root}/src/cli/main.ts`,
      ...argv,
    ],
    cwd: ctx.cwd,
    permissions: perms,
  };
}
