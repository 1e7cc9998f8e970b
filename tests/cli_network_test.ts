/**
 * The CLI reaches a broker by any name or address (issue: "usable on real
 * networks"), with permissions from its configuration, and `broker serve`
 * listens on any address with one clear line per failure. Only loopback
 * addresses are ever contacted (127.0.0.0/8, ::1).
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import {
  freePort,
  ROOT,
  type Run,
  splitpilot,
  startSplitpilot,
  type User,
} from "./_cli.ts";

function expect(r: Run, code: number, what: string) {
  assertEquals(
    r.code,
    code,
    `${what}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
  );
}

function oneLine(r: Run, what: string) {
  const lines = r.stderr.trim().split("\n");
  assertEquals(
    lines.length,
    1,
    `${what}: one line expected, got:\n${r.stderr}`,
  );
  assertMatch(lines[0], /^error: /, what);
  assert(
    !/\bat .*:\d+:\d+/.test(r.stderr),
    `${what}: a stack trace:\n${r.stderr}`,
  );
}

async function setup(): Promise<User & { state: string }> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-net-" });
  const user = {
    home: `${dir}/home`,
    cwd: `${dir}/work`,
    state: `${dir}/home/.splitpilot/state`,
  };
  await Deno.mkdir(user.home, { recursive: true });
  await Deno.mkdir(user.cwd, { recursive: true });
  expect(
    await splitpilot(user, "ca", "init", "--state", user.state),
    0,
    "ca init",
  );
  expect(
    await splitpilot(
      user,
      "token",
      "issue",
      "--state",
      user.state,
      "--role",
      "USER",
      "--subject",
      "jdoe",
      "--ttl",
      "1h",
      "--out",
      `${user.home}/.splitpilot/user`,
    ),
    0,
    "token issue",
  );
  return user;
}

Deno.test("CLI network: ps reaches localhost, 127.0.0.2 and [::1]; other hosts are refused by Deno's permissions", async () => {
  const user = await setup();
  const port = freePort();
  const port6 = freePort();
  const v4 = await startSplitpilot(
    user,
    "broker",
    "serve",
    "--state",
    user.state,
    "--listen",
    `0.0.0.0:${port}`,
    "--san",
    "localhost",
    "--san",
    "127.0.0.2",
    "--san",
    "127.0.0.3",
  );
  let v6;
  try {
    assertStringIncludes(
      v4.firstLine,
      `broker listening on https://0.0.0.0:${port}`,
    );
    // The [::] broker shares the state dir's CA (a second database file
    // would be a second broker; here only the listener matters).
    const state6 = `${user.home}/state6`;
    await Deno.mkdir(`${state6}/ca`, { recursive: true });
    for (const f of ["ca.pem", "ca.key"]) {
      await Deno.copyFile(`${user.state}/ca/${f}`, `${state6}/ca/${f}`);
    }
    v6 = await startSplitpilot(
      user,
      "broker",
      "serve",
      "--state",
      state6,
      "--listen",
      `[::]:${port6}`,
      "--san",
      "::1",
    );
    assertStringIncludes(v6.firstLine, `https://[::]:${port6}`);

    await Deno.writeTextFile(
      `${user.home}/.splitpilot/config`,
      `# brokers this user may reach\nbroker = https://localhost:${port}, https://127.0.0.2:${port}, https://[::1]:${port6}\n`,
    );
    let r = await splitpilot(user, "config");
    expect(r, 0, "config");
    assertMatch(
      r.stdout,
      new RegExp(`broker\\s+https://localhost:${port}, .*\\s+file .*config:2`),
    );
    assertMatch(r.stdout, /token\s+\S+\/\.splitpilot\/user\s+default/);

    for (
      const url of [
        `https://localhost:${port}`,
        `https://127.0.0.2:${port}`,
        `https://[::1]:${port6}`,
      ]
    ) {
      r = await splitpilot(user, "ps", "--broker", url);
      expect(r, 0, `ps against ${url}`);
      assertEquals(r.stdout, "no jobs\n", url);
    }
    // The first URL of the config is the default.
    r = await splitpilot(user, "ps", "--json");
    expect(r, 0, "ps from the config");
    assertEquals(JSON.parse(r.stdout), { jobs: [] });
    // Environment over the file, flag over the environment.
    r = await splitpilot(
      { ...user, env: { SPLITPILOT_BROKER: `https://127.0.0.2:${port}` } },
      "config",
      "--json",
    );
    assertEquals(JSON.parse(r.stdout).broker, {
      value: [`https://127.0.0.2:${port}`],
      source: "env SPLITPILOT_BROKER",
    });

    // A host outside the configuration: Deno refuses, one clear line.
    r = await splitpilot(user, "ps", "--broker", `https://127.0.0.3:${port}`);
    expect(r, 3, "ps against a host not in the config");
    oneLine(r, "refused host");
    assertStringIncludes(
      r.stderr,
      `127.0.0.3:${port} is not in your configuration`,
    );
    r = await splitpilot(
      user,
      "ps",
      "--json",
      "--broker",
      `https://127.0.0.3:${port}`,
    );
    assertEquals(JSON.parse(r.stdout).reason, "not_permitted");

    // A configured host whose certificate does not name it.
    await Deno.writeTextFile(
      `${user.home}/.splitpilot/config`,
      `broker = https://127.0.0.4:${port}\n`,
    );
    r = await splitpilot(user, "ps");
    expect(r, 1, "ps against a name the certificate lacks");
    oneLine(r, "certificate name");
    assertStringIncludes(r.stderr, "--san");
    // A wrong port: a clear reason, not "fetch failed".
    const closed = freePort();
    r = await splitpilot(
      user,
      "ps",
      "--broker",
      `https://localhost:${closed}`,
      "--json",
    );
    expect(r, 3, "a port not in the config is refused first");
    await Deno.writeTextFile(
      `${user.home}/.splitpilot/config`,
      `broker = https://localhost:${closed}\n`,
    );
    r = await splitpilot(user, "ps");
    expect(r, 1, "wrong port");
    oneLine(r, "wrong port");
    assertStringIncludes(r.stderr, "connection refused");
  } finally {
    await v4.stop();
    await v6?.stop();
  }
});

Deno.test("CLI network: broker serve failures are one line each, never a stack trace", async () => {
  const user = await setup();
  const port = freePort();
  const running = await startSplitpilot(
    user,
    "broker",
    "serve",
    "--state",
    user.state,
    "--listen",
    `127.0.0.1:${port}`,
  );
  try {
    let r = await splitpilot(
      user,
      "broker",
      "serve",
      "--state",
      user.state,
      "--listen",
      `localhost:${port}`,
    );
    expect(r, 1, "port in use");
    oneLine(r, "port in use");
    assertStringIncludes(r.stderr, "port is in use");

    for (
      const bad of [
        "300.1.1.1:80",
        "localhost",
        "[::1:80",
        "host name:1",
        `127.0.0.1:70000`,
      ]
    ) {
      r = await splitpilot(
        user,
        "broker",
        "serve",
        "--state",
        user.state,
        "--listen",
        bad,
      );
      expect(r, 2, `--listen ${bad}`);
      oneLine(r, `--listen ${bad}`);
      assertStringIncludes(r.stderr, `--listen ${bad}: expected HOST:PORT`);
    }
    // An address this machine does not have (TEST-NET-1: binding only).
    r = await splitpilot(
      user,
      "broker",
      "serve",
      "--state",
      user.state,
      "--listen",
      `192.0.2.123:${port}`,
    );
    expect(r, 1, "foreign address");
    oneLine(r, "foreign address");
    assertStringIncludes(r.stderr, "no such address");

    // Without the launcher's grant, Deno's permissions refuse the address.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--config",
        `${ROOT}/deno.json`,
        `--allow-read=${user.state}`,
        `--allow-write=${user.state}`,
        `${ROOT}/src/cli/main.ts`,
        "broker",
        "serve",
        "--state",
        user.state,
        "--listen",
        `127.0.0.5:${port}`,
      ],
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: { NO_COLOR: "1" },
    }).output();
    const denied = {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
    expect(denied, 1, "listen without permission");
    oneLine(denied, "listen without permission");
    assertStringIncludes(denied.stderr, "Deno's permissions do not allow it");

    r = await splitpilot(user, "broker", "serve", "--help");
    expect(r, 0, "broker serve --help");
    assertStringIncludes(r.stdout, "usage: splitpilot broker serve");
    r = await splitpilot(
      user,
      "broker",
      "serve",
      "--state",
      user.state,
      "--json",
      "--listen",
      "nope",
    );
    expect(r, 2, "--json usage error");
    assertEquals(JSON.parse(r.stdout).reason, "usage");
  } finally {
    await running.stop();
  }
});
