import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { purgeNumberEvents } from "@/lib/health/number-events";
import { purgeExpired } from "@/lib/ops/housekeeping";
import { metrics } from "@/lib/ops/metrics";

// A repeatable BullMQ job: one job scheduler shared by every worker, so the purge runs once per
// interval across the fleet, whichever worker takes it (lib/ops/housekeeping.ts says what goes).
export const HOUSEKEEPING_QUEUE = "housekeeping";
const SCHEDULER_ID = "purge-expired";

const deleted = metrics().counter("gw_housekeeping_deleted_total", "Expired rows deleted by housekeeping, by table");
const runs = metrics().counter("gw_housekeeping_runs_total", "Housekeeping runs, by outcome");

export async function startHousekeeping(d: {
  db: Db;
  /** makes a connection BullMQ may block on (maxRetriesPerRequest: null); two are made, closed by stop() */
  connect: () => Redis;
  log: Logger;
  everyMs?: number;
}) {
  const everyMs = d.everyMs ?? 60 * 60_000;
  const queueConn = d.connect();
  const workerConn = d.connect();
  const queue = new Queue(HOUSEKEEPING_QUEUE, { connection: queueConn });
  // the same id from every worker: one schedule, its interval updated by the last one to start
  await queue.upsertJobScheduler(
    SCHEDULER_ID,
    { every: everyMs },
    {
      name: SCHEDULER_ID,
      opts: { removeOnComplete: 100, removeOnFail: 100 },
    },
  );
  const worker = new Worker(
    HOUSEKEEPING_QUEUE,
    async () => {
      const r = await purgeExpired(d.db);
      deleted.inc({ table: "media_blob" }, r.mediaBlobs);
      deleted.inc({ table: "webhook_receipt" }, r.webhookReceipts);
      const numberEvents = await purgeNumberEvents(d.db);
      deleted.inc({ table: "number_event" }, numberEvents);
      if (r.mediaBlobs || r.webhookReceipts || numberEvents) d.log.info({ ...r, numberEvents }, "expired rows deleted");
      return { ...r, numberEvents };
    },
    { connection: workerConn, concurrency: 1 },
  );
  worker.on("completed", () => runs.inc({ outcome: "ok" }));
  worker.on("failed", (_job, err) => {
    runs.inc({ outcome: "failed" });
    d.log.warn({ err }, "housekeeping run failed");
  });
  worker.on("error", (err) => d.log.warn({ err }, "housekeeping worker error"));
  return {
    async stop() {
      await worker.close();
      await queue.close();
      for (const c of [queueConn, workerConn]) await c.quit().catch(() => {});
    },
  };
}
