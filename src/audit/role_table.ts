/**
 * The permission set to audit a role against: the role's row of the table
 * for a context given as JSON, or for the site layout of the built
 * artefacts (work dir, sandbox or state dir plus the broker address).
 *
 * @module
 */
import {
  type AgentContext,
  agentPermissions,
  type BrokerContext,
  brokerPermissions,
  type PermissionSet,
  type ProcessRole,
  type WrapperContext,
  wrapperPermissions,
} from "../permissions/table.ts";
import {
  siteAgentContext,
  siteBrokerContext,
  siteWrapperContext,
} from "../build/site_layout.ts";
import { SANDBOX_PATH } from "../container/driver.ts";

/** Raised for a context that does not fit the role. */
export class AuditContextError extends Error {
  /** @param message names the missing or contradicting context field. */
  constructor(message: string) {
    super(message);
    this.name = "AuditContextError";
  }
}

/** Where the context comes from. */
export interface RoleTableInput {
  /** The role. */
  role: ProcessRole;
  /** The table context as JSON (fields of the role's context type). */
  context?: Record<string, unknown>;
  /** Agent: the site work dir of a built agent. */
  workDir?: string;
  /** Wrapper: the sandbox as the wrapper saw it. @default "/workdir" */
  sandbox?: string;
  /** Wrapper: programs of the payload. @default [] */
  payload?: string[];
  /** Broker: the state dir. */
  stateDir?: string;
  /** Agent and wrapper: broker `host:port`; broker: listen `host:port`. */
  broker?: string;
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === "") {
    throw new AuditContextError(`${what} is required`);
  }
  return v;
}

function fields(
  ctx: Record<string, unknown>,
  role: ProcessRole,
  strings: string[],
  lists: string[],
): void {
  for (const k of strings) {
    if (typeof ctx[k] !== "string") {
      throw new AuditContextError(
        `--context for ${role}: "${k}" must be a string`,
      );
    }
  }
  for (const k of lists) {
    const v = ctx[k];
    if (
      v !== undefined &&
      !(Array.isArray(v) && v.every((x) => typeof x === "string"))
    ) {
      throw new AuditContextError(
        `--context for ${role}: "${k}" must be a list of strings`,
      );
    }
  }
}

/** The role's row of the table for the given context. */
export function roleTable(input: RoleTableInput): PermissionSet {
  const c = input.context;
  switch (input.role) {
    case "agent": {
      if (c) {
        fields(c, "agent", ["broker", "tokenDir", "workRoot", "deno"], [
          "wrapperProgram",
          "launchers",
          "configFiles",
        ]);
        return agentPermissions({
          wrapperProgram: [],
          launchers: [],
          ...c,
        } as unknown as AgentContext);
      }
      return agentPermissions(
        siteAgentContext(
          need(input.workDir, "--work-dir (or --context)"),
          need(input.broker, "--broker"),
        ),
      );
    }
    case "wrapper": {
      if (c) {
        fields(c, "wrapper", ["sandbox"], ["payload", "program"]);
        // Only a wrapper that connects itself (`--wrapper-net direct`).
        if (c.broker !== undefined) fields(c, "wrapper", ["broker"], []);
        return wrapperPermissions({
          payload: [],
          ...c,
        } as unknown as WrapperContext);
      }
      return wrapperPermissions(
        siteWrapperContext(input.sandbox ?? SANDBOX_PATH, input.payload ?? []),
      );
    }
    case "broker": {
      if (c) {
        fields(c, "broker", ["listen", "stateDir"], []);
        return brokerPermissions(c as unknown as BrokerContext);
      }
      return brokerPermissions(
        siteBrokerContext(
          need(input.stateDir, "--state (or --context)"),
          need(input.broker, "--broker (the listen address)"),
        ),
      );
    }
  }
}
