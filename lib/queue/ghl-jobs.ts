import { type ConnectionOptions, type JobsOptions, Queue } from "bullmq";
import { z } from "zod";

// Jobs that call GHL: one BullMQ queue, zod-validated payloads shared by producer and consumer.
// Job ids make enqueueing idempotent (a retried producer never creates a second job).
export const GHL_QUEUE = "ghl";

export const ghlJobSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("status"),
    locationId: z.string(),
    messageId: z.string(),
    ghlMessageId: z.string(),
    status: z.enum(["delivered", "read", "failed", "pending"]),
    error: z.string().optional(),
  }),
  z.object({ kind: z.literal("inbound"), locationId: z.string(), messageId: z.string() }),
  /** a contact's phone became known without a message (WhatsApp's LID mapping): its GHL contact gets it */
  z.object({ kind: z.literal("contact"), locationId: z.string(), contactId: z.string(), phone: z.string() }),
]);
export type GhlJob = z.infer<typeof ghlJobSchema>;

export const GHL_JOB_DEFAULTS: JobsOptions = {
  attempts: 8,
  backoff: { type: "exponential", delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  // failed jobs stay 30 days: they are the dead-letter list the panel shows and replays
  removeOnFail: { age: 30 * 24 * 3600 },
};

export function ghlJobId(job: GhlJob): string {
  if (job.kind === "contact") return `contact-${job.contactId}-${job.phone.replace(/\D/g, "")}`;
  return job.kind === "status" ? `status-${job.messageId}-${job.status}` : `inbound-${job.messageId}`;
}

let queue: Queue | undefined;
export function ghlQueue(connection: ConnectionOptions): Queue {
  queue ??= new Queue(GHL_QUEUE, { connection, defaultJobOptions: GHL_JOB_DEFAULTS });
  return queue;
}

export async function enqueueGhl(q: Queue, job: GhlJob) {
  const parsed = ghlJobSchema.parse(job);
  return q.add(parsed.kind, parsed, { jobId: ghlJobId(parsed) });
}
