import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { fireTrigger, TRIGGER_JOB } from "@/lib/alerts/trigger-job";
import type { Db } from "@/lib/db";
import type { GhlClient } from "@/lib/ghl/client";
import { deliverHook, HOOKS_QUEUE } from "@/lib/outgoing-webhooks/outgoing-webhooks";

// The outgoing-webhook consumer: posts each queued event to the location's configured URL
// (lib/outgoing-webhooks says how: signed, SSRF-guarded, retried by BullMQ), and fires the GHL
// workflow trigger of an alert for each subscribed workflow (lib/alerts/trigger-job.ts).
export function startOutgoingWebhookWorker(d: {
  db: Db;
  /** a connection BullMQ may block on; closed by the caller */
  connection: Redis;
  log: Logger;
  allowedOrigins: readonly string[];
  concurrency?: number;
  /** GHL workflow triggers: the location's GHL client and GHL's API base (GHL_API_BASE_URL) */
  ghl?: { ghlFor: (locationId: string) => GhlClient; apiBaseUrl: string };
}) {
  const worker = new Worker(
    HOOKS_QUEUE,
    (job) => {
      if (job.name !== TRIGGER_JOB) return deliverHook(d.db, job.data, { allowedOrigins: d.allowedOrigins });
      if (!d.ghl) throw new Error("GHL workflow triggers are not wired in this worker");
      return fireTrigger(d.db, d.ghl.ghlFor, job.data, d.ghl.apiBaseUrl);
    },
    {
      connection: d.connection,
      concurrency: d.concurrency ?? 4,
    },
  );
  worker.on("error", (err) => d.log.warn({ err }, "outgoing webhook worker error"));
  return { stop: () => worker.close() };
}
