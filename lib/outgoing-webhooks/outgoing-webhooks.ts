import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type ConnectionOptions, Queue } from "bullmq";
import { z } from "zod";
import { audit } from "../audit";
import { hmacHex, open, seal } from "../crypto";
import type { Db } from "../db";
import { badRequest } from "../errors";
import {
  BlockedAddressError,
  type GuardOptions,
  guardedRequest,
  isAllowedOrigin,
  literalAddressProblem,
} from "../net/guarded-request";
import { isSpecialAddress } from "../net/special-address";
import { parseLocationSettings, patchLocationSettings, readLocationSettings } from "../tenants/settings";

// Optional per-location webhook for automations (n8n, Make, Zapier): inbound messages, status
// changes and number alerts (`number.status`: docs/architecture.md#number-alerts) are POSTed as JSON, signed `x-gateway-signature: sha256=<hex HMAC of "<timestamp>.<body>">`
// with `x-gateway-timestamp`, retried with backoff. The URL is in Location.settings (its one writer,
// lib/tenants/settings.ts); the secret is sealed in its own column, Location.webhookSecretEnc, so
// that no reader of the settings ever holds it (docs/decisions/017-json-settings-one-owner.md).
export const HOOKS_QUEUE = "outgoing-webhooks";

export const hookEventSchema = z.object({
  type: z.enum(["message.inbound", "message.status", "instance.status", "number.status"]),
  locationId: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: z.string(),
});
export type HookEvent = z.infer<typeof hookEventSchema>;

/** Sets (a new secret each time, returned once) or clears the location's webhook. */
export async function configureWebhook(db: Db, locationId: string, url: string | null, o: GuardOptions = {}) {
  if (url) await assertDeliverable(url, o);
  const secret = url ? `whsec_${randomBytes(24).toString("base64url")}` : null;
  // URL and secret change together or not at all: a delivery never signs for the new URL with
  // the old secret; the URL goes through the settings' writer (the rest of the JSON untouched)
  await db.$transaction(async (tx) => {
    await patchLocationSettings(tx, locationId, { webhookUrl: url });
    await tx.location.updateMany({
      where: { id: locationId },
      data: { webhookSecretEnc: secret ? seal(secret, aad(locationId)) : null },
    });
  });
  if (url) await audit(db, { locationId, actor: "panel" }, "webhook.configured", { url });
  return { url, secret };
}

/** The URL for the panel (admins only); never the secret, which is shown once when it is made. */
export async function webhookUrlOf(db: Db, locationId: string): Promise<string | null> {
  return (await readLocationSettings(db, locationId)).webhookUrl;
}

export async function webhookConfigured(db: Db, locationId: string): Promise<boolean> {
  return !!(await webhookUrlOf(db, locationId));
}

/** Queues an event for delivery (which checks the configuration again when it runs). */
export function queueHook(q: Queue, ev: Omit<HookEvent, "at">, o: { jobId?: string } = {}) {
  return q.add(
    ev.type,
    { ...ev, at: new Date().toISOString() },
    { ...o, attempts: 6, backoff: { type: "exponential", delay: 5000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  );
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
  const loc = await db.location.findUnique({
    where: { id: ev.locationId },
    select: { settings: true, webhookSecretEnc: true, installed: true },
  });
  const webhookUrl = parseLocationSettings(loc?.settings).webhookUrl;
  if (!loc?.installed || !webhookUrl || !loc.webhookSecretEnc) return "not-configured";
  const url = checkedUrl(webhookUrl, o);
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
      "x-gateway-signature": signature(open(loc.webhookSecretEnc, aad(ev.locationId)), ts, body),
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
  if (addrs.some((a) => isSpecialAddress(a.address)))
    throw badRequest(`the webhook host ${host} is on a private network`);
}

function checkedUrl(url: string, o: GuardOptions): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badRequest("the webhook URL is not a valid URL");
  }
  const allowed = isAllowedOrigin(u, o.allowedOrigins);
  if (u.protocol !== "https:" && !(allowed && u.protocol === "http:"))
    throw badRequest("the webhook URL must use https");
  const problem = literalAddressProblem(u, o.allowedOrigins);
  if (problem) throw badRequest(`the webhook host ${u.hostname} is on a private network (${problem})`);
  return u;
}

/** The associated data binding a sealed secret to its location (lib/crypto-reseal.ts lists it). */
function aad(locationId: string) {
  return `webhook:${locationId}`;
}
