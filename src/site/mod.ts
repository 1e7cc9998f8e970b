/**
 * Site-facing pieces: the broker's artefact shelf, the batch-queue startup
 * script, and a hand-made site work dir.
 *
 * @module
 */
export * from "./artefact_store.ts";
export * from "./site_dir.ts";
export * from "./startup_script.ts";
