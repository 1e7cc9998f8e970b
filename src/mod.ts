/**
 * splitpilot as a library: the pieces the agent, wrapper, broker and CLI
 * are built from. Entry points that run things are `agent.ts`,
 * `wrapper.ts` and `scripts/`.
 *
 * @module
 */
export * as jdl from "./jdl/mod.ts";
export * as pipe from "./pipe/mod.ts";
export * as protocol from "./protocol/mod.ts";
export * as token from "./token/mod.ts";
export * as permissions from "./permissions/table.ts";
export { BrokerClient, BrokerError } from "./client/broker_client.ts";
export { startBroker } from "./broker/broker.ts";
export { createDriver, selectRuntime } from "./container/select.ts";
