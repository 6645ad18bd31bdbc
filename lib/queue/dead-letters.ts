import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { notFound } from "../errors";

// The failed set of the GHL queue, seen per location: what could not reach GHL after every
// retry, with a "retry" that puts it back. BullMQ's failed set is one list for every tenant, so
// the consumer also files each dead letter under its location (a sorted set by time of failure):
// a location sees its own, however many other tenants have, and never anyone else's.

/** The queue's own connection (an ioredis client under BullMQ's narrower interface). */
const redisOf = async (q: Queue) => (await q.client) as unknown as Redis;
const deadKey = (q: Queue, locationId: string) => `${q.opts.prefix ?? "bull"}:${q.name}:dead:${locationId}`;

export type DeadLetter = {
  id: string;
  kind: string;
  messageId: string;
  failedReason: string;
  attempts: number;
  failedAt: number | null;
};

/** Called by the GHL queue consumer when a job has failed its last attempt. */
export async function fileDeadLetter(q: Queue, locationId: string, jobId: string, at = Date.now()) {
  await (await redisOf(q)).zadd(deadKey(q, locationId), at, jobId);
}

export async function listDeadLetters(q: Queue, locationId: string, limit = 100): Promise<DeadLetter[]> {
  const client = await redisOf(q);
  const ids = await client.zrevrange(deadKey(q, locationId), 0, limit - 1);
  const out: DeadLetter[] = [];
  for (const id of ids) {
    const j = await q.getJob(id);
    // retried since, or removed by age: no longer a dead letter
    if (!j || j.data?.locationId !== locationId || !(await j.isFailed())) {
      await client.zrem(deadKey(q, locationId), id);
      continue;
    }
    out.push({
      id: String(j.id),
      kind: String(j.data.kind),
      messageId: String(j.data.messageId ?? j.data.contactId),
      failedReason: j.failedReason ?? "",
      attempts: j.attemptsMade,
      failedAt: j.finishedOn ?? null,
    });
  }
  return out;
}

export async function retryDeadLetter(q: Queue, locationId: string, jobId: string) {
  const client = await redisOf(q);
  const job = (await client.zscore(deadKey(q, locationId), jobId)) !== null ? await q.getJob(jobId) : undefined;
  // another tenant's job id answers exactly like a missing one
  if (!job || job.data?.locationId !== locationId || !(await job.isFailed())) throw notFound("no such failed job");
  await job.retry("failed");
  await client.zrem(deadKey(q, locationId), jobId);
}
