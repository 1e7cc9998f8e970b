/**
 * Clients given several broker URLs (replicas) fail over to one that
 * answers, and the permissions of agents, wrappers and the broker list
 * exactly the replicas and the database they may reach.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { startGrid } from "./_grid.ts";
import {
  BrokerClient,
  BrokerError,
  readTokenDir,
} from "../src/client/broker_client.ts";
import { brokerAddresses } from "../src/client/broker_addresses.ts";
import {
  agentPermissions,
  brokerPermissions,
  toDenoFlags,
  wrapperPermissions,
} from "../src/permissions/table.ts";
import { databaseAddress, redactUrl } from "../src/broker/database_url.ts";
import { launchPlan } from "../src/cli/launch_plan.ts";
import { freePort } from "../src/launch/role_process.ts";

Deno.test("failover: a client with dead and live replicas reaches the live one, for safe and unsafe requests", async () => {
  const grid = await startGrid();
  const dead = [
    `https://127.0.0.1:${freePort()}`,
    `https://127.0.0.1:${freePort()}`,
  ];
  const token = await readTokenDir(grid.userTokenDir);
  try {
    // Whatever replica a client starts at (random), it gets through.
    for (let i = 0; i < 6; i++) {
      const c = new BrokerClient([dead[0], grid.url, dead[1]], token, {
        retryDelayMs: 1,
      });
      try {
        const { jobId } = await c.submit('Executable = "/bin/true";');
        assertEquals(c.url, grid.url);
        // Kill is not safe to repeat: only a refused connection (nothing
        // sent) moves it on to the next replica.
        const c2 = new BrokerClient(`${dead[0]},${grid.url}`, token);
        try {
          const r = await c2.json("POST", `/api/v1/jobs/${jobId}/kill`);
          assert(r !== undefined);
        } finally {
          c2.close();
        }
        assertEquals((await grid.broker!.store.get(jobId))?.state, "KILLED");
      } finally {
        c.close();
      }
    }
    const none = new BrokerClient(dead, token, { retryDelayMs: 1 });
    try {
      const e = await assertRejects(
        () => none.json("GET", "/api/v1/health"),
        BrokerError,
      );
      assertEquals(e.status, 0);
      assert(
        e.message.includes(dead[0]) && e.message.includes(dead[1]),
        e.message,
      );
    } finally {
      none.close();
    }
  } finally {
    await grid.close();
  }
});

Deno.test("failover: agent and wrapper may reach every replica and nothing else", () => {
  const broker = brokerAddresses(
    "https://b1.example.org:8443, https://b2.example.org,https://[::1]:9443/",
  );
  assertEquals(broker, "b1.example.org:8443 b2.example.org:443 [::1]:9443");
  const agent = agentPermissions({
    broker,
    tokenDir: "/t",
    workRoot: "/w",
    wrapperProgram: ["/p"],
    deno: "/deno",
    launchers: [],
  });
  assertEquals(agent.net, [
    "b1.example.org:8443",
    "b2.example.org:443",
    "[::1]:9443",
  ]);
  const wrapper = wrapperPermissions({ broker, sandbox: "/s", payload: [] });
  assertEquals(
    toDenoFlags(wrapper)[0],
    "--allow-net=b1.example.org:8443,b2.example.org:443,[::1]:9443",
  );
  for (const bad of ["http://b1:80", "b1:8443", ""]) {
    assertThrows(() => brokerAddresses(bad), TypeError);
  }
});

Deno.test("broker permissions: --db adds the database's address, --files the shared dir; passwords stay out of logs", async () => {
  assertEquals(
    databaseAddress("postgres://u@db.example.org/q"),
    "db.example.org:5432",
  );
  assertEquals(
    databaseAddress("postgresql://u:pw@10.0.0.5:6432/q"),
    "10.0.0.5:6432",
  );
  assertEquals(databaseAddress("/srv/jobs.db"), undefined);
  assertEquals(redactUrl("postgres://u:secret@h/q").includes("secret"), false);
  const row = brokerPermissions({
    listen: "0.0.0.0:8443",
    stateDir: "/srv/b",
    database: "db:5432",
    filesDir: "/mnt/files",
  });
  assertEquals(row.net, ["0.0.0.0:8443", "db:5432"]);
  assertEquals(row.write, ["/srv/b", "/mnt/files"]);
  assert(row.env.includes("PG*"));
  const dir = await Deno.makeTempDir();
  try {
    const plan = await launchPlan(
      [
        "broker",
        "serve",
        "--state",
        "st",
        "--listen",
        "127.0.0.1:8443",
        "--db",
        "postgres://broker@127.0.0.1:5433/q",
        "--files",
        "shared",
      ],
      (n) => ({ HOME: dir } as Record<string, string>)[n],
      { cwd: dir, deno: "/usr/bin/deno", root: "/repo" },
    );
    assertEquals(plan.permissions.net, ["127.0.0.1:8443", "127.0.0.1:5433"]);
    assert(plan.permissions.write.includes(`${dir}/shared`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
