/**
 * The audit fails when permissions are widened on purpose:
 *
 * - a process started with more than its row of the table reads outside
 *   it: the replayed audit log fails the check (and passes only against
 *   the widened row — the widening is exactly what fails it);
 * - the table itself is widened: the table policy check (docs/ARCHITECTURE.md) fails, while
 *   every real row of the table keeps to it.
 */
import { assertArrayIncludes, assertEquals } from "@std/assert";
import {
  auditRecords,
  parseAuditLog,
  policyViolations,
  type RoleContext,
} from "../src/audit/mod.ts";
import {
  agentPermissions,
  brokerPermissions,
  type PermissionSet,
  toDenoFlags,
  wrapperPermissions,
} from "../src/permissions/table.ts";
import {
  siteAgentContext,
  siteBrokerContext,
  siteWrapperContext,
} from "../src/build/mod.ts";
import { agentLaunchers, repoRoot } from "../src/launch/role_process.ts";
import { KILL_PROGRAM } from "../src/protocol/programs.ts";

const BROKER = "127.0.0.1:18443";

function rows(): { rc: RoleContext; set: PermissionSet }[] {
  const agentSite = siteAgentContext("/srv/site", BROKER);
  const agentSource = {
    broker: BROKER,
    tokenDir: "/srv/token",
    workRoot: "/srv/work",
    wrapperProgram: [`${repoRoot()}/wrapper.ts`, `${repoRoot()}/src`],
    deno: Deno.execPath(),
    launchers: agentLaunchers("auto"),
  };
  const wrapper = siteWrapperContext("/workdir", [
    "/usr/bin/env",
    KILL_PROGRAM,
  ]);
  const broker = siteBrokerContext("/srv/state", BROKER);
  return [
    {
      rc: { role: "agent", context: agentSite },
      set: agentPermissions(agentSite),
    },
    {
      rc: { role: "agent", context: agentSource },
      set: agentPermissions(agentSource),
    },
    {
      rc: { role: "wrapper", context: wrapper },
      set: wrapperPermissions(wrapper),
    },
    { rc: { role: "broker", context: broker }, set: brokerPermissions(broker) },
  ];
}

Deno.test("table policy: every row of the table keeps to the table policy", () => {
  for (const { rc, set } of rows()) {
    assertEquals(policyViolations(rc, set), [], rc.role);
  }
});

Deno.test("table policy: a widened row fails the check", () => {
  for (const { rc, set } of rows()) {
    const widened: PermissionSet = {
      net: [...set.net, "127.0.0.1:5432"],
      read: [...set.read, "/etc"],
      write: [...set.write, "/home"],
      run: [...set.run, "/bin/bash"],
      env: [...set.env, "DENO_DIR", "*"],
    };
    const v = policyViolations(rc, widened);
    for (
      const needle of [
        "net 127.0.0.1:5432",
        "read /etc",
        "write /home",
        "run /bin/bash",
        "env DENO_DIR",
        'env "*"',
      ]
    ) {
      assertEquals(
        v.filter((x) => x.startsWith(needle)).length,
        1,
        `${rc.role}: ${needle} in ${v.join("; ")}`,
      );
    }
  }
});

Deno.test("audit: a process given more than its row reads outside it, and the audit fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-widen-" });
  try {
    const sandbox = `${dir}/sandbox`;
    await Deno.mkdir(sandbox);
    await Deno.writeTextFile(`${sandbox}/in.txt`, "in\n");
    await Deno.writeTextFile(`${dir}/secret.txt`, "secret\n");
    const table = wrapperPermissions(siteWrapperContext(sandbox));
    const widened: PermissionSet = {
      ...table,
      read: [...table.read, `${dir}/secret.txt`],
    };
    await Deno.writeTextFile(
      `${dir}/probe.js`,
      `await Deno.readTextFile(${JSON.stringify(`${sandbox}/in.txt`)});
       console.log(await Deno.readTextFile(${
        JSON.stringify(`${dir}/secret.txt`)
      }));`,
    );
    const log = `${dir}/audit.jsonl`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-prompt",
        ...toDenoFlags(widened),
        `${dir}/probe.js`,
      ],
      env: { DENO_AUDIT_PERMISSIONS: log },
      stdout: "piped",
      stderr: "piped",
    }).output();
    // The widened process really got the file.
    assertEquals(
      new TextDecoder().decode(r.stdout),
      "secret\n\n",
      new TextDecoder().decode(r.stderr),
    );
    const records = parseAuditLog(await Deno.readTextFile(log)).records;
    const report = auditRecords(records, table, { role: "wrapper" });
    assertEquals(report.outside, [{
      kind: "read",
      value: `${dir}/secret.txt`,
      count: 1,
    }]);
    assertArrayIncludes(
      report.kinds.find((k) => k.kind === "read")!.values.map((v) => v.value),
      [`${sandbox}/in.txt`],
    );
    assertEquals(
      auditRecords(records, widened, { role: "wrapper" }).outside,
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
