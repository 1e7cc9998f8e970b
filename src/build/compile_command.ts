/**
 * The `deno compile` form, used when a `denort` runtime is at hand
 * (`DENORT_BIN`): one native executable per role with its flags baked in.
 *
 * A compiled binary cannot take permission flags at run time, so paths
 * that differ per site are baked as paths relative to the directory the
 * binary is started in (Deno resolves relative permission paths against
 * the start-up working directory): `cd W && ./splitpilot-agent …` grants
 * `W/token`, `W/work`, `W/rt/wrapper` — the same layout as the offline
 * form ({@link ./site_layout.ts}). The wrapper is not compiled: its
 * `--allow-run` list is chosen per job, which no baked flag can express,
 * so it always ships in the offline form.
 *
 * @module
 */
import {
  agentPermissions,
  brokerPermissions,
  type ProcessRole,
  toDenoFlags,
} from "../permissions/table.ts";
import { BuildError } from "./bundle.ts";
import { LOCKDOWN_FLAGS } from "./launcher_script.ts";
import { siteAgentContext, siteBrokerContext } from "./site_layout.ts";

/** Roles the compile form builds. */
export const COMPILED_ROLES: readonly ProcessRole[] = ["agent", "broker"];

/** Inputs of {@link compileArgs}. */
export interface CompileInput {
  /** Role (agent or broker). */
  role: ProcessRole;
  /** Bundle file to compile. */
  bundle: string;
  /** Output executable. */
  out: string;
  /** Broker `host:port` (agent: peer; broker: listen address). */
  broker: string;
}

/** The flags baked into a compiled role (relative to its start dir). */
export function compiledFlags(role: ProcessRole, broker: string): string[] {
  switch (role) {
    case "agent":
      return toDenoFlags(agentPermissions(siteAgentContext(".", broker)));
    case "broker":
      return toDenoFlags(brokerPermissions(siteBrokerContext(".", broker)));
    default:
      throw new BuildError(
        `role ${role} is not compiled (its --allow-run list is per job); expected agent or broker`,
      );
  }
}

/** Program arguments baked in after the flags. */
function bakedArgs(role: ProcessRole, broker: string): string[] {
  return role === "agent"
    ? [
      "--broker",
      `https://${broker}`,
      "--token",
      "./token",
      "--work",
      "./work",
      "--wrapper",
      "./rt/wrapper",
    ]
    : [];
}

/** The `deno compile` argument list for one role. */
export function compileArgs(input: CompileInput): string[] {
  return [
    "compile",
    "--quiet",
    ...LOCKDOWN_FLAGS,
    ...compiledFlags(input.role, input.broker),
    "--output",
    input.out,
    input.bundle,
    ...bakedArgs(input.role, input.broker),
  ];
}

/** Runs `deno compile` with `DENORT_BIN=denort`. */
export async function compileRole(
  input: CompileInput & { deno: string; denort: string },
): Promise<void> {
  const r = await new Deno.Command(input.deno, {
    args: compileArgs(input),
    env: { DENORT_BIN: input.denort, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new BuildError(
      `deno compile of ${input.role} failed (exit ${r.code}): ${
        new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(
          " | ",
        )
      }`,
    );
  }
}
