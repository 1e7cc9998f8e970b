/**
 * `splitpilot config`: each effective setting, its value and where it came
 * from (flag, environment, config file with line, default).
 *
 * ```sh
 * splitpilot config
 * splitpilot config --json
 * SPLITPILOT_BROKER=https://localhost:8443 splitpilot config
 * ```
 *
 * @module
 */
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import { table } from "./_user_cli.ts";
import { brokerHost, loadSettings } from "./config.ts";

/** Usage text. */
export const CONFIG_USAGE =
  `usage: splitpilot config [--broker URL] [--token DIR] [--json]
  shows the effective broker URLs, token dir and config file, and where each
  comes from: a flag, the environment (SPLITPILOT_BROKER, SPLITPILOT_TOKEN,
  SPLITPILOT_CONFIG), the config file (~/.splitpilot/config) or a default.
  The config file holds lines "broker = URL[, URL...]" and "token = DIR".
examples:
  splitpilot config
  splitpilot config --json`;

/** Runs `config <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  const json = wantsJson(args);
  try {
    const flags = parseFlags(args, {
      string: ["broker", "token"],
      boolean: ["json", "help"],
      alias: { h: "help" },
    });
    if (flags.help) {
      io.out(CONFIG_USAGE);
      return 0;
    }
    if (flags._.length) {
      throw new UsageError(`unexpected argument "${flags._[0]}"`);
    }
    const s = await loadSettings(
      { broker: flags.broker, token: flags.token },
      (n) => Deno.env.get(n) || undefined,
    );
    const reachable = s.allowedBrokers.map((u) => brokerHost(u, "broker"));
    if (json) {
      io.out(JSON.stringify({
        config: {
          value: s.file.value ?? null,
          source: s.file.source,
          exists: s.file.exists,
        },
        broker: { value: s.broker.value ?? null, source: s.broker.source },
        token: { value: s.token.value ?? null, source: s.token.source },
        reachable,
      }));
      return 0;
    }
    const rows = [
      [
        "config",
        `${s.file.value ?? "-"}${s.file.exists ? "" : " (absent)"}`,
        s.file.source,
      ],
      ["broker", s.broker.value?.join(", "), s.broker.source],
      ["token", s.token.value, s.token.source],
      [
        "reachable",
        reachable.join(", ") ||
        "(none: set broker in the config file or SPLITPILOT_BROKER)",
        "config file + environment",
      ],
    ];
    for (const line of table(["SETTING", "VALUE", "SOURCE"], rows)) {
      io.out(line);
    }
    return 0;
  } catch (e) {
    return fail(io, e, { usage: CONFIG_USAGE, json });
  }
}
