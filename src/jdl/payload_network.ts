/**
 * The payload's network (JDL `Network`, docs/ARCHITECTURE.md, "The
 * relay"): `none` runs the job's container in its own empty network
 * namespace, `host` on the host's network. A site offers the networks its
 * agents allow (`agent --payload-network`), as the site map's
 * `payloadNetworks`; a job naming one only matches where it is offered.
 *
 * @module
 */
import { lookupSite, stringList } from "./_evaluator.ts";
import type { SiteMap } from "./evaluate.ts";

/** A payload network policy. */
export type PayloadNetwork = "none" | "host";

/** The values `Network` and `--payload-network` accept. */
export const PAYLOAD_NETWORKS: readonly PayloadNetwork[] = ["none", "host"];

/** Parses a policy name (any case); undefined when it is not one. */
export function parsePayloadNetwork(v: string): PayloadNetwork | undefined {
  const n = v.toLowerCase();
  return (PAYLOAD_NETWORKS as readonly string[]).includes(n)
    ? n as PayloadNetwork
    : undefined;
}

/**
 * The networks a site offers. A site map without `payloadNetworks` comes
 * from an agent older than the policy: its payloads share the host's
 * network, so it offers `host` only.
 */
export function offeredNetworks(site: SiteMap): string[] {
  const list = (stringList(lookupSite(site, "payloadnetworks")) ?? [])
    .filter((x): x is string => typeof x === "string")
    .map((x) => x.toLowerCase());
  return list.length > 0 ? list : ["host"];
}

/** Whether `site` can run a job that asks for `network` (undefined: any). */
export function networkAdmits(
  network: PayloadNetwork | undefined,
  site: SiteMap,
): boolean {
  return network === undefined || offeredNetworks(site).includes(network);
}
