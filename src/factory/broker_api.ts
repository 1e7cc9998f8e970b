/**
 * {@link FactoryBrokerApi} over the broker's HTTPS API, authenticated by
 * the factory's HOST token (subject = its site).
 *
 * @module
 */
import type { BrokerClient, TokenPem } from "../client/broker_client.ts";
import type { FactoryBrokerApi, FactoryStatus } from "./factory.ts";

/** The broker calls of a factory for `site`. */
export function factoryBrokerApi(
  client: BrokerClient,
  site: string,
): FactoryBrokerApi {
  const q = `?site=${encodeURIComponent(site)}`;
  return {
    async demand(slot) {
      const r = await client.json<{ waiting: number }>(
        "POST",
        `/api/v1/factory/demand${q}`,
        slot,
      );
      return r?.waiting ?? 0;
    },
    async pilot(ttlSeconds) {
      const r = await client.json<{
        token: TokenPem;
        notAfter: string;
        artefacts: { agent: string; wrapper: string };
      }>("POST", `/api/v1/factory/pilot${q}`, { ttl: ttlSeconds });
      if (!r) throw new Error("the broker issued no pilot token");
      return r;
    },
    async report(status: FactoryStatus) {
      await client.json("PUT", `/api/v1/factory/pilots${q}`, status);
    },
  };
}
