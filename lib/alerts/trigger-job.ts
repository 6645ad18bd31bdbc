import type { Queue } from "bullmq";
import { z } from "zod";
import type { Db } from "../db";
import type { GhlClient } from "../ghl/client";
import { numberStatusPayload } from "./number-status-payload";

// Firing the GHL workflow trigger "WhatsApp number status changed" for one subscribed workflow:
// a POST of the payload to the `targetUrl` GHL gave in its subscription call, with the location's
// token, through the one GHL client (docs/ghl.md#workflow-triggers). Carried on the
// outgoing-webhooks queue (job name `ghl.trigger`), retried by BullMQ.

export const TRIGGER_JOB = "ghl.trigger";
export const triggerJobSchema = z.object({ locationId: z.string(), alertId: z.string(), subscriptionId: z.string() });
export type TriggerJob = z.infer<typeof triggerJobSchema>;

export function queueTriggerFire(q: Queue, j: TriggerJob) {
  return q.add(TRIGGER_JOB, triggerJobSchema.parse(j), {
    jobId: `alert-${j.alertId}-trigger-${j.subscriptionId}`,
    attempts: 6,
    backoff: { type: "exponential", delay: 5000 },
    removeOnComplete: 1000,
    removeOnFail: 5000,
  });
}

/** The path of a trigger URL on GHL's API host, or null when it is anywhere else. */
export function triggerPath(targetUrl: string, apiBaseUrl: string): string | null {
  let u: URL;
  let base: URL;
  try {
    u = new URL(targetUrl);
    base = new URL(apiBaseUrl);
  } catch {
    return null;
  }
  const prefix = `${base.pathname.replace(/\/+$/, "")}/workflows-marketplace/triggers/execute/`;
  if (u.origin !== base.origin || !u.pathname.startsWith(prefix) || u.search || u.hash) return null;
  return u.pathname.slice(base.pathname.replace(/\/+$/, "").length);
}

export async function fireTrigger(
  db: Db,
  ghlFor: (locationId: string) => GhlClient,
  raw: unknown,
  apiBaseUrl: string,
): Promise<"fired" | "gone"> {
  const j = triggerJobSchema.parse(raw);
  const [alert, sub] = await Promise.all([
    db.numberAlert.findFirst({ where: { id: j.alertId, locationId: j.locationId } }),
    db.workflowSubscription.findFirst({ where: { id: j.subscriptionId, locationId: j.locationId } }),
  ]);
  // the workflow dropped the trigger, or the number was deleted, since it was queued
  if (!alert || !sub) return "gone";
  const inst = await db.instance.findFirst({
    where: { id: alert.instanceId, locationId: j.locationId },
    select: { name: true, phone: true },
  });
  const path = triggerPath(sub.targetUrl, apiBaseUrl);
  if (!inst || !path) return "gone";
  await ghlFor(j.locationId).request({ method: "POST", path, json: numberStatusPayload(alert, inst) });
  return "fired";
}
