/**
 * The site's payload network policy (`agent --payload-network none|host`,
 * docs/ARCHITECTURE.md, "The relay"): what the agent offers at match time
 * and which network each job's container gets.
 *
 * @module
 */
import { type ContainerDriver, ContainerError } from "../container/driver.ts";
import type { JobDescription, PayloadNetwork } from "../jdl/mod.ts";

/**
 * The networks to offer: a `none` site offers only `none` (a job asking
 * for `host` waits, and `why` says so); a `host` site offers `host`, and
 * `none` too where the runtime can make an empty network namespace.
 *
 * @throws {ContainerError} when the policy is `none` and the runtime
 * cannot run a container without network (`none`, no container at all).
 */
export function offeredPayloadNetworks(
  policy: PayloadNetwork,
  driver: Pick<ContainerDriver, "name" | "capabilities">,
): PayloadNetwork[] {
  const canNone = driver.capabilities.networkNone;
  if (policy === "none") {
    if (!canNone) {
      throw new ContainerError(
        `--payload-network none: runtime ${driver.name} cannot run a payload without network; use bwrap, podman or docker`,
      );
    }
    return ["none"];
  }
  return canNone ? ["none", "host"] : ["host"];
}

/**
 * The network of one job: its JDL `Network`, else the site's default.
 *
 * @throws {ContainerError} when the job asks for what this agent does not
 * offer (a broker should never have matched it here).
 */
export function jobNetwork(
  jd: Pick<JobDescription, "network">,
  policy: PayloadNetwork,
  offered: readonly PayloadNetwork[],
): PayloadNetwork {
  const n = jd.network ?? policy;
  if (!offered.includes(n)) {
    throw new ContainerError(
      `job wants payload network ${n}, this agent offers ${offered.join(", ")}`,
    );
  }
  return n;
}
