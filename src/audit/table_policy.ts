/**
 * The permission policy of docs/ARCHITECTURE.md ("Permissions mirror
 * roles") as a check: what each role's row may contain at most, stated
 * independently of the table code, so that widening the table itself
 * (not only a process or a launcher) is caught.
 *
 * | role | net | read | write | run | env |
 * |---|---|---|---|---|---|
 * | agent | the broker only | token, work root, wrapper program, deno, software dir, config files | work root | its launchers and its three helpers (`splitpilot-procfs`, `splitpilot-kill`, `splitpilot-du`), no shell | named vars |
 * | wrapper | the broker only | its sandbox (+ its program) | its sandbox | the payload | named vars |
 * | broker | its listen address | state dir | state dir (never its runtime, `STATE/rt`) | none | named vars |
 *
 * "Named vars" means plain names or `PREFIX_*` — never a bare `*`, and
 * never a variable the Deno runtime itself interprets (`DENO_*`, `LD_*`,
 * proxies, certificate stores), which would let a parent widen or bend the
 * process from outside.
 *
 * @module
 */
import type {
  AgentContext,
  BrokerContext,
  PermissionSet,
  WrapperContext,
} from "../permissions/table.ts";
import { pathWithin } from "./check_access.ts";
import { agentHelpers } from "../watchdog/helpers.ts";

/** A role with the context its row was computed for. */
export type RoleContext =
  | { role: "agent"; context: AgentContext }
  | { role: "wrapper"; context: WrapperContext }
  | { role: "broker"; context: BrokerContext };

const RUNTIME_ENV =
  /^(DENO_|LD_|NODE_|NPM_CONFIG_|HTTPS?_PROXY$|ALL_PROXY$|NO_PROXY$|SSL_CERT_|RUST_)/i;

function bound(
  kind: string,
  values: readonly string[],
  allowed: readonly string[],
): string[] {
  return values.filter((v) => !allowed.some((a) => pathWithin(v, a))).map((
    v,
  ) => `${kind} ${v} is beyond ${allowed.join(", ") || "nothing"}`);
}

function exact(
  kind: string,
  values: readonly string[],
  allowed: readonly string[],
): string[] {
  return values.filter((v) => !allowed.includes(v)).map((v) =>
    `${kind} ${v} is not one of ${allowed.join(", ") || "(none)"}`
  );
}

function envIssues(env: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of env) {
    if (e === "*" || e === "") out.push(`env "${e}" grants every variable`);
    else if (RUNTIME_ENV.test(e)) {
      out.push(`env ${e} is a variable the runtime interprets`);
    } else if (!/^[A-Za-z_][A-Za-z0-9_]*\*?$/.test(e)) {
      out.push(`env "${e}" is not a variable name or PREFIX_*`);
    }
  }
  return out;
}

/**
 * What `set` (the table's row for `rc`) grants beyond that policy; empty
 * when the row keeps to it.
 */
export function policyViolations(
  rc: RoleContext,
  set: PermissionSet,
): string[] {
  const out = envIssues(set.env);
  switch (rc.role) {
    case "agent": {
      const c = rc.context;
      out.push(...exact("net", set.net, [c.broker]));
      out.push(
        ...bound("read", set.read, [
          c.tokenDir,
          c.workRoot,
          ...c.wrapperProgram,
          c.deno,
          ...(c.softwareDir ? [c.softwareDir] : []),
          ...(c.configFiles ?? []),
        ]),
      );
      out.push(...bound("write", set.write, [c.workRoot]));
      out.push(
        ...exact(
          "run",
          set.run,
          [
            ...(c.launchers.length ? c.launchers : [c.deno]),
            ...(c.helpers ?? agentHelpers()),
          ],
        ),
      );
      out.push(
        ...set.run.filter((p) => /\/(ba|da|k|z)?sh$|\/kill$/.test(p)).map((
          p,
        ) => `a general-purpose shell or kill on the agent's run list: ${p}`),
      );
      break;
    }
    case "wrapper": {
      const c = rc.context;
      // A relayed wrapper (no broker in its context) may reach nothing.
      out.push(...exact("net", set.net, c.broker ? [c.broker] : []));
      out.push(...bound("read", set.read, [c.sandbox, ...(c.program ?? [])]));
      out.push(...bound("write", set.write, [c.sandbox]));
      out.push(...exact("run", set.run, c.payload));
      break;
    }
    case "broker": {
      const c = rc.context;
      out.push(...exact("net", set.net, [c.listen]));
      out.push(...bound("read", set.read, [c.stateDir]));
      out.push(...bound("write", set.write, [c.stateDir]));
      if (!(set.denyWrite ?? []).includes(`${c.stateDir}/rt`)) {
        out.push(
          `write ${c.stateDir} includes the broker's runtime ${c.stateDir}/rt`,
        );
      }
      out.push(...exact("run", set.run, []));
      break;
    }
  }
  return out;
}
