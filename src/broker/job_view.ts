/**
 * The public view of a job: what `GET /api/v1/jobs/:id`, listings and
 * traces show (times as ISO strings, absent fields as null).
 *
 * @module
 */
import type { JobRecord } from "./store.ts";

/** Public view of a job. */
export function jobView(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    owner: job.owner,
    state: job.state,
    priority: job.priority,
    cpuCores: job.cpuCores,
    ttl: job.ttl,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    resubmissions: job.resubmissions,
    exitCode: job.exitCode ?? null,
    killReason: job.killReason ?? null,
    agent: job.agentSubject ?? null,
    usage: job.usage ?? null,
    memory: job.memory,
    disk: job.disk,
    expiresAt: job.expiresAt === undefined
      ? null
      : new Date(job.expiresAt).toISOString(),
    heartbeatAt: job.heartbeatAt === undefined
      ? null
      : new Date(job.heartbeatAt).toISOString(),
    message: job.message ?? null,
  };
}
