import { Worker, type ConnectionOptions } from "bullmq";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { postInboundToGhl, pushStatusToGhl, type GhlCall, type SyncConfig } from "@/lib/messages/ghl-sync";
import { GHL_QUEUE, ghlJobSchema } from "@/lib/queue/ghl-jobs";

// Consumer of the GHL queue: inbound posts and status updates. Failures throw, so BullMQ retries
// with exponential backoff (GHL_JOB_DEFAULTS); after the last attempt the job stays in the failed
// set — the dead-letter list the panel shows and replays.
export function startGhlSyncWorker(d: {
  db: Db;
  connection: ConnectionOptions;
  ghlFor: (locationId: string) => GhlCall;
  cfg: SyncConfig;
  log: Logger;
  concurrency?: number;
}) {
  const worker = new Worker(
    GHL_QUEUE,
    async (job) => {
      const data = ghlJobSchema.parse(job.data);
      const ghl = d.ghlFor(data.locationId);
      if (data.kind === "inbound") return postInboundToGhl(d.db, ghl, data.messageId, d.cfg);
      await pushStatusToGhl(ghl, data.ghlMessageId, data.status, data.error);
      return "status";
    },
    { connection: d.connection, concurrency: d.concurrency ?? 8 },
  );
  worker.on("failed", (job, err) => {
    const last = job && job.attemptsMade >= (job.opts.attempts ?? 1);
    d.log[last ? "error" : "warn"]({ err, jobId: job?.id, locationId: job?.data?.locationId, attempts: job?.attemptsMade }, last ? "GHL job dead-lettered" : "GHL job failed; will retry");
  });
  worker.on("error", (err) => d.log.warn({ err }, "GHL queue worker error"));
  return { worker, stop: () => worker.close() };
}
