/**
 * Rows of the SQL task queues (SQLite and PostgreSQL share the column
 * names) as the store's records: the one place column names become
 * {@link JobRecord} and {@link FileRecord} fields.
 *
 * @module
 */
import type { JobState } from "../protocol/job_state.ts";
import type { Usage } from "../protocol/usage.ts";
import type { FileRecord, JobRecord } from "./store.ts";

/** A row as `node:sqlite` or the PostgreSQL driver returns it. */
export type Row = Record<string, unknown>;

/** A value bound to a named SQL parameter. */
export type SqlValue = string | number | null;

function opt(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

/** A `jobs` row as a job record (absent optional fields left out). */
export function toJob(r: Row): JobRecord {
  const job: JobRecord = {
    id: String(r.id),
    owner: r.owner as string,
    state: r.state as JobState,
    jdl: r.jdl as string,
    priority: Number(r.priority),
    cpuCores: Number(r.cpu_cores),
    ttl: Number(r.ttl),
    memory: Number(r.memory),
    disk: Number(r.disk),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    resubmissions: Number(r.resubmissions),
  };
  const optional: Partial<JobRecord> = {
    expiresAt: opt(r.expires_at),
    agent: (r.agent as string | null) ?? undefined,
    agentSubject: (r.agent_subject as string | null) ?? undefined,
    tokenSerial: (r.token_serial as string | null) ?? undefined,
    exitCode: opt(r.exit_code),
    killReason: opt(r.kill_reason),
    heartbeatAt: opt(r.heartbeat_at),
    usage: r.usage ? JSON.parse(r.usage as string) as Usage : undefined,
    message: (r.message as string | null) ?? undefined,
  };
  for (const [k, v] of Object.entries(optional)) {
    if (v !== undefined) (job as unknown as Record<string, unknown>)[k] = v;
  }
  return job;
}

/** A `files` row as a catalogue entry. */
export function toFile(r: Row): FileRecord {
  const f: FileRecord = {
    lfn: r.lfn as string,
    owner: r.owner as string,
    size: Number(r.size),
    sha256: r.sha256 as string,
    createdAt: Number(r.created_at),
  };
  if (r.job_id !== null) f.jobId = String(r.job_id);
  return f;
}
