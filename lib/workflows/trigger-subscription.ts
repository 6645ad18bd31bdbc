import { z } from "zod";
import { NUMBER_STATUS_TRIGGER_KEY } from "../alerts/number-status-payload";
import { triggerPath } from "../alerts/trigger-job";
import type { Db } from "../db";
import { badRequest, notFound } from "../errors";

// GHL's call to a trigger's Subscription URL: a workflow added (CREATED), changed (UPDATED) or
// removed (DELETED) one of this app's triggers. The payload, as GHL's Marketplace docs give it:
// `{triggerData: {id, key, filters, eventType, targetUrl}, meta: {key, version}, extras:
// {locationId, workflowId, companyId}}` (docs/ghl.md#workflow-triggers). What we keep is where to
// post that workflow's events: `targetUrl`, on GHL's API host only.

export const TRIGGER_KEYS = [NUMBER_STATUS_TRIGGER_KEY] as const;

export const subscriptionCallSchema = z.object({
  triggerData: z.object({
    id: z.string().min(1).max(200),
    key: z.string().min(1).max(100),
    filters: z.array(z.unknown()).max(100).default([]),
    eventType: z.enum(["CREATED", "UPDATED", "DELETED"]),
    targetUrl: z.string().max(2000),
  }),
  meta: z.object({ key: z.string().max(100).optional(), version: z.string().max(50).optional() }).optional(),
  extras: z.object({
    locationId: z.string().min(1).max(100),
    workflowId: z.string().min(1).max(200),
    companyId: z.string().max(100).optional(),
  }),
});

export async function applyTriggerSubscription(
  db: Db,
  raw: unknown,
  apiBaseUrl: string,
): Promise<{ ok: true; eventType: string }> {
  const r = subscriptionCallSchema.safeParse(raw);
  if (!r.success)
    throw badRequest(
      "not a GHL trigger subscription",
      r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  const { triggerData: t, extras: x } = r.data;
  if (!(TRIGGER_KEYS as readonly string[]).includes(t.key)) throw badRequest(`unknown trigger key ${t.key}`);
  // the location is the tenant: installed here, and of the company GHL names
  const loc = await db.location.findFirst({
    where: { id: x.locationId, installed: true },
    select: { companyId: true },
  });
  if (!loc || (x.companyId && loc.companyId && loc.companyId !== x.companyId))
    throw notFound("this location has not installed the app");
  if (t.eventType === "DELETED") {
    await db.workflowSubscription.deleteMany({ where: { locationId: x.locationId, ghlTriggerId: t.id } });
    return { ok: true, eventType: t.eventType };
  }
  // events are posted with the location's token: never to a host other than GHL's API
  if (!triggerPath(t.targetUrl, apiBaseUrl)) throw badRequest("targetUrl is not a GHL trigger URL");
  const data = { workflowId: x.workflowId, triggerKey: t.key, targetUrl: t.targetUrl, filters: t.filters as object[] };
  await db.workflowSubscription.upsert({
    where: { locationId_ghlTriggerId: { locationId: x.locationId, ghlTriggerId: t.id } },
    create: { locationId: x.locationId, ghlTriggerId: t.id, ...data },
    update: data,
  });
  return { ok: true, eventType: t.eventType };
}
