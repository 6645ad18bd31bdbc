import type { Logger } from "pino";
import { db } from "@/lib/db";
import type { Env } from "@/lib/env";
import { ghlClient } from "@/lib/ghl/client";
import { metrics } from "@/lib/ops/metrics";
import { hooksQueue, queueHook, webhookConfigured } from "@/lib/outgoing-webhooks/outgoing-webhooks";
import { enqueueGhl, type GhlJob, ghlQueue } from "@/lib/queue/ghl-jobs";
import { blockingRedis, createRedis, redis } from "@/lib/redis";
import { ttlMemo } from "@/lib/ttl-memo";
import { startAlertOutbox } from "../jobs/alert-outbox";
import { startGhlSyncWorker } from "../jobs/ghl-sync";
import { startHistoryImport } from "../jobs/history-import";
import { startOutgoingWebhookWorker } from "../jobs/outgoing-webhooks";
import { createMessaging } from "./messaging-hooks";

// Everything about messages in the worker: the socket hooks (send loops, inbound, receipts), the
// GHL queue consumer and the outgoing-webhook consumer (both in worker/jobs/). Returns the hooks
// for the session manager.
export async function startMessagingRuntime(cfg: Env, log: Logger, workerId: string) {
  const queueConn = createRedis({ maxRetriesPerRequest: null });
  const queue = ghlQueue(queueConn);
  const hooks = hooksQueue(queueConn);
  // asked on every message: a webhook configured in the panel is used within 5 s
  const hookOn = ttlMemo(5000, (locationId) => webhookConfigured(db(), locationId));
  const notifyGhl = async (job: GhlJob) => {
    await enqueueGhl(queue, job);
    // automations see the same events (only when the location configured a webhook)
    if (job.kind === "contact" || !(await hookOn(job.locationId).catch(() => true))) return;
    await queueHook(
      hooks,
      job.kind === "inbound"
        ? { type: "message.inbound", locationId: job.locationId, data: { messageId: job.messageId } }
        : {
            type: "message.status",
            locationId: job.locationId,
            data: { messageId: job.messageId, ghlMessageId: job.ghlMessageId, status: job.status, error: job.error },
          },
    ).catch((err) => log.warn({ err }, "outgoing webhook not queued"));
  };

  const wakeSub = blockingRedis();
  const messaging = createMessaging({
    db: db(),
    redis: redis(),
    subscriber: wakeSub,
    notifyGhl,
    log: log.child({ part: "messaging" }),
    cfg: {
      TEXT_DELAY_MS: cfg.TEXT_DELAY_MS,
      MEDIA_DELAY_MS_MIN: cfg.MEDIA_DELAY_MS_MIN,
      MEDIA_DELAY_MS_MAX: cfg.MEDIA_DELAY_MS_MAX,
      MEDIA_URL_ALLOWED_ORIGINS: cfg.MEDIA_URL_ALLOWED_ORIGINS,
    },
  });
  await messaging.start();
  // shared by every worker: the same figure from each
  metrics()
    .gauge("gw_inbound_spool_messages", "Inbound WhatsApp messages waiting in the spool for Postgres")
    .collect(async () => [{ labels: {}, value: await messaging.spool.size() }]);

  const ghlConn = blockingRedis();
  const ghlSync = startGhlSyncWorker({
    db: db(),
    connection: ghlConn,
    pending: redis(),
    ghlFor: (locationId) => ghlClient(locationId),
    log: log.child({ part: "ghl-sync" }),
    concurrency: cfg.GHL_QUEUE_CONCURRENCY,
    cfg: { appUrl: cfg.APP_URL.replace(/\/+$/, ""), conversationProviderId: cfg.GHL_CONVERSATION_PROVIDER_ID },
  });
  // past conversations from history sync, posted behind live traffic (docs/decisions/020-history-sync-and-import.md)
  const historyImport = startHistoryImport({
    db: db(),
    redis: redis(),
    ghlFor: (locationId) => ghlClient(locationId),
    log: log.child({ part: "history-import" }),
    workerId,
    cfg: { appUrl: cfg.APP_URL.replace(/\/+$/, ""), conversationProviderId: cfg.GHL_CONVERSATION_PROVIDER_ID },
  });
  const hooksConn = blockingRedis();
  const hookWorker = startOutgoingWebhookWorker({
    db: db(),
    connection: hooksConn,
    log,
    allowedOrigins: cfg.MEDIA_URL_ALLOWED_ORIGINS,
    ghl: { ghlFor: (locationId) => ghlClient(locationId), apiBaseUrl: cfg.GHL_API_BASE_URL },
  });
  // alerts raised anywhere (lib/alerts) leave through the same queue
  const alertOutbox = startAlertOutbox({ db: db(), queue: hooks, log: log.child({ part: "alerts" }) });

  return {
    hooks: messaging.hooks,
    ghlQueue: queue,
    async stop() {
      await messaging.stop();
      await alertOutbox.stop();
      await Promise.allSettled([ghlSync.stop(), hookWorker.stop(), historyImport.stop()]);
      await Promise.allSettled([queue.close(), hooks.close()]);
      for (const c of [wakeSub, ghlConn, hooksConn, queueConn]) await c.quit().catch(() => {});
    },
  };
}
