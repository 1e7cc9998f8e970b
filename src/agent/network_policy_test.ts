import { assertEquals, assertThrows } from "@std/assert";
import { ContainerError } from "../container/driver.ts";
import { jobNetwork, offeredPayloadNetworks } from "./network_policy.ts";

const canNone = { name: "bwrap", capabilities: { networkNone: true } } as never;
const noNone = { name: "none", capabilities: { networkNone: false } } as never;

Deno.test("offeredPayloadNetworks: a none site offers none only; host offers what the runtime can", () => {
  assertEquals(offeredPayloadNetworks("none", canNone), ["none"]);
  assertEquals(offeredPayloadNetworks("host", canNone), ["none", "host"]);
  assertEquals(offeredPayloadNetworks("host", noNone), ["host"]);
  assertThrows(
    () => offeredPayloadNetworks("none", noNone),
    ContainerError,
    "runtime none cannot run a payload without network",
  );
});

Deno.test("jobNetwork: the JDL's Network, else the site default; never one not offered", () => {
  assertEquals(jobNetwork({}, "none", ["none"]), "none");
  assertEquals(
    jobNetwork({ network: "none" }, "host", ["none", "host"]),
    "none",
  );
  assertEquals(jobNetwork({}, "host", ["none", "host"]), "host");
  assertThrows(
    () => jobNetwork({ network: "host" }, "none", ["none"]),
    ContainerError,
    "job wants payload network host",
  );
});
