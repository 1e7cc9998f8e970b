import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { UsageError } from "./cli_io.ts";
import { brokerHost, loadSettings, parseConfigFile } from "./config.ts";

async function home(config?: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-config-" });
  await Deno.mkdir(`${dir}/.splitpilot`);
  if (config !== undefined) {
    await Deno.writeTextFile(`${dir}/.splitpilot/config`, config);
  }
  return dir;
}

Deno.test("config: flags over environment over the file over defaults, each with its source", async () => {
  const h = await home(
    "# mine\nbroker = https://b1.example:8443, https://[::1]:9\ntoken = tok\n",
  );
  const env = (vars: Record<string, string>) => (n: string) =>
    ({ HOME: h, ...vars })[n];
  let s = await loadSettings({}, env({}));
  assertEquals(s.broker, {
    value: ["https://b1.example:8443", "https://[::1]:9"],
    source: `file ${h}/.splitpilot/config:2`,
  });
  // Relative paths in the file are relative to the file.
  assertEquals(s.token, {
    value: `${h}/.splitpilot/tok`,
    source: `file ${h}/.splitpilot/config:3`,
  });
  assertEquals(s.allowedBrokers.map((u) => brokerHost(u, "x")), [
    "b1.example:8443",
    "[::1]:9",
  ]);
  s = await loadSettings(
    {},
    env({ SPLITPILOT_BROKER: "https://127.0.0.2:1", SPLITPILOT_TOKEN: "~/t" }),
  );
  assertEquals(s.broker.source, "env SPLITPILOT_BROKER");
  assertEquals(s.token, { value: `${h}/t`, source: "env SPLITPILOT_TOKEN" });
  // The environment's broker may be reached too; a flag's alone may not.
  assertEquals(s.allowedBrokers.length, 3);
  s = await loadSettings(
    { broker: "https://other:1", token: "x" },
    env({ SPLITPILOT_BROKER: "https://127.0.0.2:1" }),
    "/w",
  );
  assertEquals(s.broker, {
    value: ["https://other:1"],
    source: "flag --broker",
  });
  assertEquals(s.token, { value: "/w/x", source: "flag --token" });
  assertEquals(s.allowedBrokers.includes("https://other:1"), false);

  const empty = await home();
  s = await loadSettings({}, (n) => ({ HOME: empty })[n]);
  assertEquals([s.file.exists, s.broker.source, s.token.source], [
    false,
    "unset",
    "default",
  ]);
});

Deno.test("config: bad files, URLs and a missing SPLITPILOT_CONFIG name the place", async () => {
  assertThrows(
    () => parseConfigFile("broker = https://a:1\nbrokr = x\n", "/c"),
    UsageError,
    '/c:2: expected "broker = URL[, URL...]" or "token = DIR"',
  );
  assertThrows(
    () => brokerHost("http://a:1", "--broker"),
    UsageError,
    "https://",
  );
  assertThrows(
    () => brokerHost("https://a:1/api", "--broker"),
    UsageError,
    "no path",
  );
  assertThrows(
    () => brokerHost("nonsense", "--broker"),
    UsageError,
    "not a URL",
  );
  const h = await home("broker = ftp://x\n");
  await assertRejects(
    () => loadSettings({}, (n) => ({ HOME: h })[n]),
    UsageError,
    `${h}/.splitpilot/config:1: "ftp://x"`,
  );
  await assertRejects(
    () =>
      loadSettings({}, (n) => ({ HOME: h, SPLITPILOT_CONFIG: "/nope/cfg" })[n]),
    UsageError,
    "SPLITPILOT_CONFIG=/nope/cfg: no such file",
  );
});
