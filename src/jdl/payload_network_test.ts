import { assertEquals, assertThrows } from "@std/assert";
import { JdlError, matchKeys, parseJdl, requirementsHold } from "./mod.ts";

Deno.test("Network: none/host in any case; anything else is a one-line JDL error", () => {
  assertEquals(
    parseJdl('Executable = "/bin/true"; Network = "NONE";').network,
    "none",
  );
  assertEquals(
    parseJdl('Executable = "/bin/true"; network = "host";').network,
    "host",
  );
  assertEquals(parseJdl('Executable = "/bin/true";').network, undefined);
  assertThrows(
    () => parseJdl('Executable = "/bin/true"; Network = "wifi";'),
    JdlError,
    'Network must be "none" or "host", got "wifi"',
  );
});

Deno.test("Network: a job asking for host matches only sites that allow it", () => {
  const host = parseJdl('Executable = "/bin/true"; Network = "host";');
  const none = parseJdl('Executable = "/bin/true"; Network = "none";');
  const any = parseJdl('Executable = "/bin/true";');
  assertEquals(matchKeys(host).residual, true);
  assertEquals(matchKeys(any).residual, false);
  const strict = { payloadNetworks: ["none"] };
  const open = { payloadNetworks: ["none", "host"] };
  const legacy = {}; // an agent that predates the policy: host only
  assertEquals(requirementsHold(host, strict), false);
  assertEquals(requirementsHold(host, open), true);
  assertEquals(requirementsHold(host, legacy), true);
  assertEquals(requirementsHold(none, strict), true);
  assertEquals(requirementsHold(none, legacy), false);
  assertEquals(requirementsHold(any, strict), true);
});
