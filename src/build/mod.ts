/**
 * Building splitpilot's per-role artefacts with their permissions baked in.
 * See {@link ./build_artefacts.ts} for the forms and
 * {@link ./site_layout.ts} for the paths a built artefact derives from its
 * work directory.
 *
 * @module
 */
export * from "./build_artefacts.ts";
export * from "./bundle.ts";
export * from "./compile_command.ts";
export * from "./launcher_script.ts";
export * from "./runtime_cache.ts";
export * from "./self_extracting.ts";
export * from "./site_layout.ts";
