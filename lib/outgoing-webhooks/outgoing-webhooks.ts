import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Queue, type ConnectionOptions } from "bullmq";
import { z } from "zod";
import { audit } from "../audit";
import type { Db } from "../db";
import { hmacHex, open, seal } from "../crypto";
import { badRequest } from "../errors";
import { BlockedAddressError, guardedRequest, isAllowedOrigin, literalAddressProblem, type GuardOptions } from "../net/guarded-request";
import { isSpecialAddress } from "../net/special-address";

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

export async function configureWebhook(db: Db, locationId: string, url: string | null, o: GuardOptions = {}) {
  const loc = await db.location.findUniqueOrThrow({ where: { id: locationId }, select: { settings: true } });
  const settings = { ...((loc.settings as Record<string, unknown>) ?? {}) };
  if (!url) {
    delete settings.webhookUrl;
    delete settings.webhookSecretEnc;
    await db.location.update({ where: { id: locationId }, data: { settings: settings as object } });
    return { url: null, secret: null };
  }
  await assertDeliverable(url, o);
  const secret = `whsec_${randomBytes(24).toString("base64url")}`;
  settings.webhookUrl = url;
  settings.webhookSecretEnc = seal(secret, `webhook:${locationId}`);
  await db.location.update({ where: { id: locationId }, data: { settings: settings as object } });
  await audit(db, { locationId, actor: "panel" }, "webhook.configured", { url });
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

/**
 * Delivers one event; throws (so BullMQ retries) on network errors and non-2xx answers. The URL
 * was checked when it was configured, but a name can resolve elsewhere since: the address
 * connected to is checked again now (lib/net/guarded-request.ts), and redirects are not followed.
 */
export async function deliverHook(db: Db, raw: unknown, o: GuardOptions & { timeoutMs?: number } = {}) {
  const ev = hookEventSchema.parse(raw);
  const loc = await db.location.findUnique({ where: { id: ev.locationId }, select: { settings: true, installed: true } });
  const s = (loc?.settings ?? {}) as Stored;
  if (!loc?.installed || !s.webhookUrl || !s.webhookSecretEnc) return "not-configured";
  const url = checkedUrl(s.webhookUrl, o);
  const body = JSON.stringify(ev);
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await guardedRequest(url, {
    ...o,
    method: "POST",
    signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    headers: {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "x-gateway-timestamp": ts,
      "x-gateway-signature": signature(open(s.webhookSecretEnc, `webhook:${ev.locationId}`), ts, body),
    },
    body,
  }).catch((e: unknown) => {
    if (e instanceof BlockedAddressError) throw new Error(`the webhook host ${e.host} is on a private network`);
    throw e;
  });
  res.resume();
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw new Error(`webhook answered ${status}`);
  return "delivered";
}

/** At configuration: the URL's own text, then (a friendlier early answer) what its name resolves to now. */
async function assertDeliverable(url: string, o: GuardOptions) {
  const u = checkedUrl(url, o);
  if (isAllowedOrigin(u, o.allowedOrigins)) return;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) return;
  const addrs = o.resolve ? await o.resolve(host).catch(() => []) : await lookup(host, { all: true }).catch(() => []);
  if (!addrs.length) throw badRequest(`the webhook host ${host} does not resolve`);
  if (addrs.some((a) => isSpecialAddress(a.address))) throw badRequest(`the webhook host ${host} is on a private network`);
}

function checkedUrl(url: string, o: GuardOptions): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badRequest("the webhook URL is not a valid URL");
  }
  const allowed = isAllowedOrigin(u, o.allowedOrigins);
  if (u.protocol !== "https:" && !(allowed && u.protocol === "http:")) throw badRequest("the webhook URL must use https");
  const problem = literalAddressProblem(u, o.allowedOrigins);
  if (problem) throw badRequest(`the webhook host ${u.hostname} is on a private network (${problem})`);
  return u;
}
