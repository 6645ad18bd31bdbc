import type { Queue } from "bullmq";
import type { Db } from "../db";
import { queueHook, webhookConfigured } from "../outgoing-webhooks/outgoing-webhooks";
import { NUMBER_STATUS_TRIGGER_KEY, numberStatusPayload } from "./number-status-payload";
import { queueTriggerFire } from "./trigger-job";

// The alerts' outbox: a raised alert is a NumberAlert row with `queuedAt` null; a worker's drain
// queues its deliveries (the location's `number.status` webhook, and one GHL trigger fire per
// workflow subscribed to the trigger) and stamps `queuedAt`, in one transaction. Job ids are the
// alert's, so a drain that queued and then failed to commit queues nothing twice; rows are taken
// with SKIP LOCKED, so workers draining side by side never take the same one.

export async function drainAlertOutbox(db: Db, q: Queue, limit = 50): Promise<number> {
  // the common case, nothing waiting, without a transaction (every worker asks every second)
  if (!(await db.numberAlert.findFirst({ where: { queuedAt: null }, select: { id: true } }))) return 0;
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<
      { id: string; locationId: string; instanceId: string; status: string; reason: string; createdAt: Date }[]
    >`
      SELECT id, "locationId", "instanceId", status, reason, "createdAt" FROM "NumberAlert"
      WHERE "queuedAt" IS NULL ORDER BY "createdAt" LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    for (const a of rows) {
      const inst = await tx.instance.findFirst({
        where: { id: a.instanceId, locationId: a.locationId },
        select: { name: true, phone: true },
      });
      if (!inst) continue; // deleted since: nothing to say about it
      const data = numberStatusPayload(a, inst);
      if (await webhookConfigured(db, a.locationId)) {
        await queueHook(q, { type: "number.status", locationId: a.locationId, data }, { jobId: `alert-${a.id}` });
      }
      // an uninstalled location has no token to fire with, and GHL no workflows of ours to run
      const installed = await tx.location.count({ where: { id: a.locationId, installed: true } });
      const subs = installed
        ? await tx.workflowSubscription.findMany({
            where: { locationId: a.locationId, triggerKey: NUMBER_STATUS_TRIGGER_KEY },
            select: { id: true },
          })
        : [];
      for (const s of subs)
        await queueTriggerFire(q, { locationId: a.locationId, alertId: a.id, subscriptionId: s.id });
    }
    if (rows.length)
      await tx.numberAlert.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { queuedAt: new Date() } });
    return rows.length;
  });
}
