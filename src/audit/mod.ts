/**
 * The permission audit: replays `DENO_AUDIT_PERMISSIONS` logs against the
 * role table (`src/permissions/table.ts`).
 *
 * @module
 */
export * from "./audit_record.ts";
export * from "./audit_report.ts";
export * from "./check_access.ts";
export * from "./flags_beyond.ts";
export * from "./role_table.ts";
export * from "./table_policy.ts";
export * from "./job_verdict.ts";
