import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Queue, type ConnectionOptions } from "bullmq";
import { z } from "zod";
import type { Db } from "../db";
import { hmacHex, open, seal } from "../crypto";
import { badRequest } from "../errors";
import { isPrivateAddress } from "../media/fetch-remote";

// Optional per-location webhook for automations (n8n, Make, Zapier): inbound messages and status
// changes are POSTed as JSON, signed `x-gateway-signature: sha256=<hex HMAC of "<timestamp>.<body>">`
// with `x-gateway-timestamp`, retried with backoff. The secret is sealed in Location.settings.
export const HOOKS_QUEUE = "outgoing-webhooks";

export const hookEventSchema = z.object({
  type: z.enum(["message.inbound", "message.status", "instance.status"]),
  locationId: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: z.string(),
});
export type HookEvent = z.infer<typeof hookEventSchema>;

type Stored = { webhookUrl?: string; webhookSecretEnc?: string };

export async function configureWebhook(db: Db, locationId: string, url: string | null, o: { allowPrivate?: boolean } = {}) {
  const loc = await db.location.findUniqueOrThrow({ where: { id: locationId }, select: { settings: true } });
  const settings = { ...((loc.settings as Record<string, unknown>) ?? {}) };
  if (!url) {
    delete settings.webhookUrl;
    delete settings.webhookSecretEnc;
    await db.location.update({ where: { id: locationId }, data: { settings: settings as object } });
    return { url: null, secret: null };
  }
  await assertDeliverable(url, o.allowPrivate ?? false);
  const secret = `whsec_${randomBytes(24).toString("base64url")}`;
  settings.webhookUrl = url;
  settings.webhookSecretEnc = seal(secret, `webhook:${locationId}`);
  await db.location.update({ where: { id: locationId }, data: { settings: settings as object } });
  await db.auditEvent.create({ data: { locationId, actor: "panel", action: "webhook.configured", detail: { url } } });
  return { url, secret };
}

export async function webhookConfigured(db: Db, locationId: string): Promise<boolean> {
  const loc = await db.location.findUnique({ where: { id: locationId }, select: { settings: true } });
  return !!(loc?.settings as Stored | null)?.webhookUrl;
}

/** Queues an event for delivery (which checks the configuration again when it runs). */
export function queueHook(q: Queue, ev: Omit<HookEvent, "at">) {
  return q.add(ev.type, { ...ev, at: new Date().toISOString() }, { attempts: 6, backoff: { type: "exponential", delay: 5000 }, removeOnComplete: 1000, removeOnFail: 5000 });
}

export function hooksQueue(connection: ConnectionOptions) {
  return new Queue(HOOKS_QUEUE, { connection });
}

export function signature(secret: string, timestamp: string, body: string) {
  return `sha256=${hmacHex(secret, `${timestamp}.${body}`)}`;
}

/** Delivers one event; throws (so BullMQ retries) on network errors and non-2xx answers. */
export async function deliverHook(db: Db, raw: unknown, o: { allowPrivate?: boolean; timeoutMs?: number } = {}) {
  const ev = hookEventSchema.parse(raw);
  const loc = await db.location.findUnique({ where: { id: ev.locationId }, select: { settings: true, installed: true } });
  const s = (loc?.settings ?? {}) as Stored;
  if (!loc?.installed || !s.webhookUrl || !s.webhookSecretEnc) return "not-configured";
  await assertDeliverable(s.webhookUrl, o.allowPrivate ?? false);
  const body = JSON.stringify(ev);
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(s.webhookUrl, {
    method: "POST",
    redirect: "manual",
    signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    headers: { "content-type": "application/json", "x-gateway-timestamp": ts, "x-gateway-signature": signature(open(s.webhookSecretEnc, `webhook:${ev.locationId}`), ts, body) },
    body,
  });
  if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered ${res.status}`);
  return "delivered";
}

async function assertDeliverable(url: string, allowPrivate: boolean) {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badRequest("the webhook URL is not a valid URL");
  }
  if (u.protocol !== "https:" && !(allowPrivate && u.protocol === "http:")) throw badRequest("the webhook URL must use https");
  if (allowPrivate) return;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const addrs = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (!addrs.length) throw badRequest(`the webhook host ${host} does not resolve`);
  if (addrs.some(isPrivateAddress)) throw badRequest(`the webhook host ${host} is on a private network`);
}
