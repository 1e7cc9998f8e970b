/**
 * A fixed launch spec for the drivers' golden argv tests.
 *
 * @module
 */
import type { LaunchSpec } from "./driver.ts";

/** A spec with every field set, host paths under `/host`. */
export function goldenSpec(over: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    argv: ["/opt/splitpilot/deno", "run", "/opt/splitpilot/wrapper.ts"],
    sandbox: "/host/work/job-1",
    image: "/host/sw/containers/default/20240101T000000Z",
    binds: [
      { source: "/host/bin/deno", target: "/opt/splitpilot/deno" },
      { source: "/host/sp/src", target: "/opt/splitpilot/src" },
    ],
    env: { HOME: "/workdir", PATH: "/usr/bin:/bin" },
    network: "host",
    scratch: ["/opt/splitpilot"],
    ...over,
  };
}
