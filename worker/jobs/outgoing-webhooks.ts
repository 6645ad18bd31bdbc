import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { deliverHook, HOOKS_QUEUE } from "@/lib/outgoing-webhooks/outgoing-webhooks";

// The outgoing-webhook consumer: posts each queued event to the location's configured URL
// (lib/outgoing-webhooks says how: signed, SSRF-guarded, retried by BullMQ).
export function startOutgoingWebhookWorker(d: {
  db: Db;
  /** a connection BullMQ may block on; closed by the caller */
  connection: Redis;
  log: Logger;
  allowedOrigins: readonly string[];
  concurrency?: number;
}) {
  const worker = new Worker(HOOKS_QUEUE, (job) => deliverHook(d.db, job.data, { allowedOrigins: d.allowedOrigins }), {
    connection: d.connection,
    concurrency: d.concurrency ?? 4,
  });
  worker.on("error", (err) => d.log.warn({ err }, "outgoing webhook worker error"));
  return { stop: () => worker.close() };
}
