/**
 * Pilot factories: keep a site's batch system supplied with pilots.
 *
 * @module
 */
export * from "./batch_system.ts";
export * from "./broker_api.ts";
export * from "./factory.ts";
export * from "./htcondor.ts";
export * from "./pbs.ts";
export * from "./slurm.ts";
