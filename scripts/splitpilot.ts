/**
 * The `splitpilot` command line: `deno task splitpilot <command> …`.
 *
 * Commands: `ca init`, `token issue|show`, `broker serve`, `audit`, `site`,
 * `authz`.
 * Exit codes: 0 ok, 1 failure, 2 bad usage or input.
 *
 * @module
 */
import { formatAuthzTable } from "../src/broker/authz.ts";

const COMMANDS: Record<
  string,
  () => Promise<{ main: (a: string[]) => Promise<number> }>
> = {
  ca: () => import("../src/cli/ca_cmd.ts"),
  token: () => import("../src/cli/token_cmd.ts"),
  broker: () => import("../src/cli/broker_cmd.ts"),
  audit: () => import("../src/cli/audit_cmd.ts"),
  site: () => import("../src/cli/site_cmd.ts"),
  submit: () => import("../src/cli/submit_cmd.ts"),
  ps: () => import("../src/cli/ps_cmd.ts"),
  trace: () => import("../src/cli/trace_cmd.ts"),
  kill: () => import("../src/cli/kill_cmd.ts"),
  resubmit: () => import("../src/cli/resubmit_cmd.ts"),
  get: () => import("../src/cli/get_cmd.ts"),
  why: () => import("../src/cli/why_cmd.ts"),
  jdl: () => import("../src/cli/jdl_cmd.ts"),
  factory: () => import("../src/cli/factory_cmd.ts"),
  logs: () => import("../src/cli/logs_cmd.ts"),
  dashboard: () => import("../src/cli/dashboard_cmd.ts"),
};

const USAGE = `usage: splitpilot <command> [args]
commands:
  ca init --state DIR                 create the token CA (key 0600, never overwritten)
  token issue|show ...                issue or inspect token certificates
  broker serve --state DIR --listen H:P   run the broker
  audit LOG... --role agent|wrapper|broker ...   replay a DENO_AUDIT_PERMISSIONS log against the table
  site publish|script|status ...      publish built artefacts; write a batch startup script; site view
  factory --site S --slurm ...        run a site's pilot factory (submits startup scripts to the batch system)
  submit FILE|- [ARG...]              submit a JDL ($1.. = ARG...); prints the job (or master) ID
  ps [--state S] [--user U] [--master ID]   list jobs, masters with subjob counts
  why ID                              which requirement no recent agent met
  jdl check FILE... | jdl fmt FILE    validate (with warnings) or print canonically
  trace ID                            a job's accounting and state history
  kill ID | resubmit ID               kill a job; put a failed one back in the queue
  get ID [--out DIR]                  download a job's outputs (sha-256 checked)
  logs ID [-f]                        a job's output, live while it runs (-f follows)
  dashboard [--listen H:P]            a live web page of your jobs and the sites (loopback)
  authz                               print the authorization table
user commands take --broker URL --token DIR (or $SPLITPILOT_BROKER,
$SPLITPILOT_TOKEN) and --json; exit codes: 0 ok, 1 failure, 2 bad usage or
input, 3 not found or not allowed, 4 refused in the job's state`;

/** Dispatches to a command; returns the exit code. */
export async function splitpilotMain(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  if (!cmd || cmd === "help" || cmd === "--help") {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === "authz") {
    console.log(formatAuthzTable());
    return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    console.error(
      `error: unknown command "${cmd}"; expected one of: ${
        [...Object.keys(COMMANDS), "authz"].join(", ")
      }`,
    );
    return 2;
  }
  return await (await load()).main(rest);
}

if (import.meta.main) {
  Deno.exit(await splitpilotMain(Deno.args));
}
