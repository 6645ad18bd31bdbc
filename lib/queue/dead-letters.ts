import type { Queue } from "bullmq";
import { notFound } from "../errors";

// The failed set of the GHL queue, seen per location: what could not reach GHL after every
// retry, with a "retry" that puts it back. Scoped by the locationId inside each job.
export type DeadLetter = { id: string; kind: string; messageId: string; failedReason: string; attempts: number; failedAt: number | null };

export async function listDeadLetters(q: Queue, locationId: string, limit = 100): Promise<DeadLetter[]> {
  const jobs = await q.getFailed(0, 999);
  return jobs
    .filter((j) => j?.data?.locationId === locationId)
    .slice(0, limit)
    .map((j) => ({
      id: String(j.id),
      kind: String(j.data.kind),
      messageId: String(j.data.messageId),
      failedReason: j.failedReason ?? "",
      attempts: j.attemptsMade,
      failedAt: j.finishedOn ?? null,
    }));
}

export async function retryDeadLetter(q: Queue, locationId: string, jobId: string) {
  const job = await q.getJob(jobId);
  // another tenant's job id answers exactly like a missing one
  if (!job || job.data?.locationId !== locationId || !(await job.isFailed())) throw notFound("no such failed job");
  await job.retry("failed");
}
