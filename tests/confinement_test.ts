/**
 * Confinement of the wrapper and the payload (issue 3 acceptance):
 * the wrapper's Deno permissions refuse reads outside the sandbox and
 * every connection, the broker's included (the agent relays its calls); the payload in bwrap cannot see the
 * agent's token; a foreign CA's certificate is refused by the broker.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import type { ContainerDriver } from "../src/container/driver.ts";
import { BwrapDriver } from "../src/container/bwrap.ts";
import { NoneDriver } from "../src/container/none.ts";
import {
  buildLaunch,
  sourceWrapperProgram,
} from "../src/agent/wrapper_launch.ts";
import { BrokerClient, BrokerError } from "../src/client/broker_client.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";
import { needs, startGrid } from "./_grid.ts";

const FIXTURE = new URL("./fixtures/escape_probe.ts", import.meta.url).pathname;

async function probeWrapperPermissions(driver: ContainerDriver) {
  const grid = await startGrid();
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const sandbox = `${grid.dir}/work/job-1`;
    await Deno.mkdir(sandbox, { recursive: true });
    await Deno.writeTextFile(`${sandbox}/inside.txt`, "ok");
    const secret = `${grid.agentTokenDir}/key.pem`;
    const brokerAddr = new URL(grid.url).host;
    const base = sourceWrapperProgram();
    // Same program layout and flags as a real job; only the entry differs.
    const program = {
      ...base,
      files: [...base.files, FIXTURE],
      entry: FIXTURE,
    };
    const launch = buildLaunch({
      driver,
      program,
      sandbox,
      broker: brokerAddr,
      payload: (workdir) => [`${workdir}/payload.sh`],
      denoDir: `${grid.dir}/work/.deno`,
    });
    const argv = launch.argv;
    // Insert the probe's own arguments right after the entry.
    const entryIndex = argv.lastIndexOf("--workdir") - 1;
    argv.splice(
      entryIndex + 1,
      0,
      brokerAddr,
      String((other.addr as Deno.NetAddr).port),
      secret,
    );
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: launch.spec.env,
      clearEnv: true,
      cwd: sandbox,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(text);
    assertEquals(r.read_sandbox, "allowed");
    assertEquals(r.write_sandbox, "allowed");
    // No network at all: not even the broker (issue 20).
    assertEquals(r.connect_broker, "NotCapable");
    // Outside the sandbox: refused by Deno's permissions (NotCapable), and
    // in bwrap the agent token is not even there.
    assertEquals(r.read_outside, "NotCapable");
    assertEquals(r.read_etc_passwd, "NotCapable");
    assertEquals(r.write_tmp, "NotCapable");
    assertEquals(r.connect_other, "NotCapable");
    assertEquals(r.run_ls, "NotCapable");
    assertEquals(r.env_secret, "NotCapable");
    assertEquals(r.listen, "NotCapable");
    // The flags came from the table: no --allow-net at all.
    assertEquals(
      launch.denoFlags.filter((f) => f.startsWith("--allow-net")),
      [],
    );
    assertEquals(
      launch.denoFlags.some((f) => f === "-A" || f === "--allow-all"),
      false,
    );
  } finally {
    other.close();
    await grid.close();
  }
}

Deno.test("wrapper permissions (none): NotCapable outside the sandbox and for every peer, the broker too", () =>
  probeWrapperPermissions(new NoneDriver()));

Deno.test({
  name:
    "wrapper permissions (bwrap): NotCapable outside the sandbox and for every peer, the broker too",
  ignore: needs("bwrap"),
  fn: () => probeWrapperPermissions(new BwrapDriver()),
});

Deno.test({
  name:
    "payload in bwrap cannot read the agent's token, /root or the work root",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    try {
      const key = `${grid.agentTokenDir}/key.pem`;
      const id = await grid.submit(`
        Executable = "/bin/sh";
        Arguments = "-c 'for f in ${key} ${grid.agentTokenDir} /root ${grid.dir}/work; do if ls -d $f >/dev/null 2>&1 || cat $f >/dev/null 2>&1; then echo VISIBLE $f; else echo hidden $f; fi; done > probe.txt; touch /usr/x 2>/dev/null && echo WROTE_USR >> probe.txt; true'";
        OutputFile = {"probe.txt"};
        TTL = 300;`);
      const agent = await grid.runAgent({ containers: "bwrap" });
      assertEquals(agent.code, 0, agent.log);
      const job = await grid.user.json<{ state: string }>(
        "GET",
        `/api/v1/jobs/${id}`,
      );
      assertEquals(job!.state, "DONE", agent.log);
      const probe =
        await (await grid.user.download(`/jdoe/jobs/${id}/probe.txt`)).text();
      assertStringIncludes(probe, `hidden ${key}`);
      assertEquals(probe.includes("VISIBLE"), false, probe);
      assertEquals(probe.includes("WROTE_USR"), false, probe);
      // The agent can read its own token: the file does exist on the host.
      assertEquals((await Deno.stat(key)).isFile, true);
    } finally {
      await grid.close();
    }
  },
});

Deno.test("broker refuses a certificate from a foreign CA with 401", async () => {
  const grid = await startGrid();
  try {
    const foreign = await TokenIssuer.fromPem(await createCa());
    const t = await foreign.issue({
      role: "USER",
      subject: "jdoe",
      ttlSeconds: 600,
    });
    const client = new BrokerClient(grid.url, {
      certPem: t.certPem,
      keyPem: t.keyPem,
      caPem: grid.ca.certPem,
    });
    try {
      const err = await client.request("GET", "/api/v1/jobs").then(
        () => undefined,
        (e) => e,
      );
      assertEquals(err instanceof BrokerError, true, String(err));
      assertEquals((err as BrokerError).status, 401);
    } finally {
      client.close();
    }
    // The same request with our own user token works.
    const ok = await grid.user.json<{ jobs: unknown[] }>("GET", "/api/v1/jobs");
    assertEquals(ok!.jobs, []);
  } finally {
    await grid.close();
  }
});
