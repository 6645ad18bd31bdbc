import { createHmac } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { ZodError } from "zod";
import { derivedKey, safeEqual } from "../crypto";
import type { Db } from "../db";
import { AppError, forbidden, unauthorized } from "../errors";
import { verifyWebhookSignature, type WebhookKeys } from "../ghl/webhook-verify";
import { readSignedBody, SIGNED_BODY_MAX_BYTES } from "../http/signed-body";
import { childLogger } from "../log";
import { assertMediaUrlsAcceptable } from "../media/fetch-remote";
import { type Accepted, acceptOutbound, type OutboundRequest } from "./accept-outbound";
import { type DeliveryPayload, deliveryPayloadSchema } from "./delivery-payload";
import { DeliverySpool, type SpooledDelivery } from "./delivery-spool";

// The Delivery URL: GHL hands us a message a user (or a workflow) wrote. Verified on the raw
// bytes, validated, then stored and queued before we answer. GHL resends only what is answered
// 429 (docs/ghl.md#webhook-retries), so every other answer is final, and decision record 006 applies:
//   - stored in Postgres → 200;
//   - Postgres failing or too slow, or earlier deliveries of the location still spooled (order)
//     → the signed body goes to the encrypted Redis spool (delivery-spool.ts) → 200; the worker
//     drains it into Postgres through the same path (storeSpooled below);
//   - Redis refusing too (or the spool full, or an unsigned call) → 429 with Retry-After: GHL resends;
//   - a call that is wrong by itself (signature 401, body 400/413/422, tenant 403) → as before.

export const DELIVERY_MAX_BYTES = SIGNED_BODY_MAX_BYTES;
/** Retry-After of a 429: a hint (GHL resends on its own schedule, ~10 minutes apart). */
export const RETRY_AFTER_SECONDS = 60;

export type DeliveryDeps = {
  db: Db;
  redis: Redis;
  keys: WebhookKeys;
  allowUnsigned: boolean;
  /**
   * The `<locationId>.<secret>` of `/api/ghl/delivery/<token>` when the call came that way: it must
   * verify and name the payload's location. An unsigned call (only where allowed) needs one.
   */
  locationToken?: string;
  /** GHL_CONVERSATION_PROVIDER_ID: when set, a payload naming another provider is refused */
  conversationProviderId?: string;
  /** MEDIA_URL_ALLOWED_ORIGINS: attachment origins that may name private addresses (the sandbox) */
  allowedMediaOrigins?: readonly string[];
  spool?: DeliverySpool;
  /** how long Postgres may take before the call is spooled instead (it may still finish: the messageId makes that harmless) */
  dbTimeoutMs?: number;
  /** how long each Redis step may take */
  redisTimeoutMs?: number;
  log?: Logger;
};

export type DeliveryOutcome =
  | ({ kind: "stored" } & Accepted)
  | { kind: "spooled"; receivedAt: number }
  | { kind: "retry"; retryAfterSeconds: number; reason: string };

/** The body of a Delivery URL call: none read unsigned (unless allowed), at most 1 MB (lib/http/signed-body.ts). */
export function readDeliveryBody(req: Request, o: { allowUnsigned?: boolean; max?: number } = {}): Promise<Buffer> {
  return readSignedBody(req, {
    what: "Delivery URL call",
    allowUnsigned: o.allowUnsigned,
    max: o.max ?? DELIVERY_MAX_BYTES,
  });
}

/** Signature, JSON, schema and the checks that need no database. */
export function verifiedDelivery(
  raw: Buffer,
  headers: Headers,
  keys: WebhookKeys,
  allowUnsigned: boolean,
): { payload: DeliveryPayload; signed: boolean } {
  const sig = verifyWebhookSignature(raw, headers, keys);
  if (!sig.ok && !(sig.reason === "missing" && allowUnsigned)) {
    throw unauthorized(
      sig.reason === "missing" ? "the Delivery URL call is not signed" : "the Delivery URL signature does not verify",
    );
  }
  return { payload: checkedPayload(parseJson(raw.toString("utf8"))), signed: sig.ok };
}

export async function acceptDelivery(d: DeliveryDeps, raw: Buffer, headers: Headers): Promise<DeliveryOutcome> {
  const { payload: p, signed } = verifiedDelivery(
    raw,
    headers,
    d.keys,
    d.allowUnsigned && d.locationToken !== undefined,
  );
  assertDeliveryIsFor(p, { signed, locationToken: d.locationToken, conversationProviderId: d.conversationProviderId });
  // refused before it can be spooled too: an attachment the worker would never fetch is a 422 now
  assertMediaUrlsAcceptable(p.attachments ?? [], d.allowedMediaOrigins ?? []);
  const receivedAt = Date.now();
  const spool = d.spool ?? new DeliverySpool(d.redis);
  const log = d.log ?? childLogger({ module: "delivery" });
  const where = { locationId: p.locationId, ghlMessageId: p.messageId };

  // Earlier deliveries of this location still spooled: this one goes behind them (order). Redis
  // not answering: unknown, and Postgres is tried (nothing can drain meanwhile; see 006).
  const behind = await within(spool.waiting(p.locationId), d.redisTimeoutMs ?? 2000, "Redis").catch((err: unknown) => {
    log.warn({ err, ...where }, "Delivery URL: spool state unknown (Redis); storing directly");
    return false;
  });
  if (!behind) {
    try {
      // the receive time, not Postgres's clock, is its place in the queue: a write that lands late
      // (after the timeout, while the call was spooled) does not jump ahead of later messages
      return {
        kind: "stored",
        ...(await within(
          acceptOutbound(d.db, d.redis, outboundOf(p, new Date(receivedAt), d.allowedMediaOrigins)),
          d.dbTimeoutMs ?? 4000,
          "Postgres",
        )),
      };
    } catch (err) {
      if (err instanceof AppError || err instanceof ZodError) throw err; // refused for what it is: final
      log.warn({ err, ...where }, "Delivery URL: Postgres did not take the message; spooling it");
    }
  }
  // Only what GHL signed is kept outside Postgres (an unsigned call, where allowed, waits for Postgres).
  if (!signed)
    return { kind: "retry", retryAfterSeconds: RETRY_AFTER_SECONDS, reason: "unsigned call while Postgres is away" };
  try {
    const t = await within(spool.put(p.locationId, raw, receivedAt), d.redisTimeoutMs ?? 2000, "Redis");
    if (t === null) {
      log.error(where, "Delivery URL: the location's spool is full; answering 429 so that GHL resends");
      return { kind: "retry", retryAfterSeconds: RETRY_AFTER_SECONDS, reason: "spool full" };
    }
    return { kind: "spooled", receivedAt: t };
  } catch (err) {
    log.error(
      { err, ...where },
      "Delivery URL: neither Postgres nor Redis took the message; answering 429 so that GHL resends",
    );
    return { kind: "retry", retryAfterSeconds: RETRY_AFTER_SECONDS, reason: "storage unavailable" };
  }
}

/**
 * Stores a spooled delivery, as it would have been stored when it arrived: the same checks (its
 * signature was verified before it was spooled), the tenant checks and the messageId dedupe of
 * acceptOutbound, and the time it was received as its place in the queue. A refusal is an
 * AppError (the drain drops it, as the call would have been refused); anything else is a failure
 * to store (the drain keeps it and tries again).
 */
export async function storeSpooled(
  db: Db,
  redis: Redis,
  e: SpooledDelivery,
  allowedMediaOrigins?: readonly string[],
): Promise<Accepted & { ghlMessageId: string }> {
  let p: DeliveryPayload;
  try {
    p = checkedPayload(parseJson(e.body));
  } catch (err) {
    if (err instanceof ZodError) throw new AppError("validation_failed", "the spooled delivery is not valid");
    throw err;
  }
  if (p.locationId !== e.locationId) throw forbidden("the spooled delivery names another location");
  return {
    ...(await acceptOutbound(db, redis, outboundOf(p, new Date(e.receivedAt), allowedMediaOrigins))),
    ghlMessageId: p.messageId,
  };
}

/**
 * The secret part of a location's own Delivery URL, `/api/ghl/delivery/<locationId>.<secret>`: an
 * HMAC of the location id under a key derived from ENCRYPTION_KEY, so it is stored nowhere and
 * belongs to exactly one location. Only needed where unsigned calls are allowed (the sandbox).
 */
export function deliverySecretFor(locationId: string, key: Buffer = derivedKey("delivery-url")): string {
  return createHmac("sha256", key).update(`delivery-url:v1:${locationId}`).digest("base64url");
}

/** `<APP_URL>/api/ghl/delivery/<locationId>.<secret>`: the URL an unsigned sender must call. */
export function locationDeliveryUrl(appUrl: string, locationId: string, key?: Buffer): string {
  return new URL(
    `/api/ghl/delivery/${encodeURIComponent(locationId)}.${deliverySecretFor(locationId, key)}`,
    appUrl,
  ).toString();
}

/**
 * The location a `<locationId>.<secret>` token proves, or null. Compared in constant time; checked
 * before the body is read, so a wrong token costs no more than a missing signature.
 */
export function locationOfToken(token: string, key?: Buffer): string | null {
  const dot = token.lastIndexOf(".");
  if (dot <= 0) return null;
  let locationId: string;
  try {
    locationId = decodeURIComponent(token.slice(0, dot));
  } catch {
    return null;
  }
  if (locationId.length > 64) return null;
  return safeEqual(deliverySecretFor(locationId, key), token.slice(dot + 1)) ? locationId : null;
}

/**
 * Which install and which provider the call is for. An unsigned call proves nothing by itself: it
 * must come through a location's own URL (locationToken) and name that location. A token, signed or
 * not, binds the payload to its location; a configured provider id must match the payload's.
 */
export function assertDeliveryIsFor(
  p: DeliveryPayload,
  o: { signed: boolean; locationToken?: string; conversationProviderId?: string; key?: Buffer },
) {
  if (o.locationToken !== undefined) {
    const loc = locationOfToken(o.locationToken, o.key);
    if (loc === null) throw unauthorized("this Delivery URL is not valid (wrong or outdated secret)");
    if (loc !== p.locationId)
      throw forbidden("this Delivery URL belongs to another location than the payload's locationId");
  } else if (!o.signed) {
    throw unauthorized("the Delivery URL call is not signed");
  }
  // GHL omits the id for the default SMS provider: only a different one is refused
  if (o.conversationProviderId && p.conversationProviderId && p.conversationProviderId !== o.conversationProviderId) {
    throw forbidden("the call is for another conversation provider than this app's (GHL_CONVERSATION_PROVIDER_ID)");
  }
}

export function outboundOf(
  p: DeliveryPayload,
  receivedAt?: Date,
  allowedMediaOrigins?: readonly string[],
): OutboundRequest {
  return {
    locationId: p.locationId,
    ghlMessageId: p.messageId,
    ghlContactId: p.contactId,
    phone: p.phone,
    text: p.message ?? "",
    attachments: p.attachments ?? [],
    source: "GHL",
    ...(receivedAt ? { receivedAt } : {}),
    ...(allowedMediaOrigins ? { allowedMediaOrigins } : {}),
  };
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new AppError("bad_request", "the body is not valid JSON");
  }
}

function checkedPayload(json: unknown): DeliveryPayload {
  const p = deliveryPayloadSchema.parse(json);
  if (p.type.toLowerCase() === "email")
    throw new AppError("unprocessable", "this provider sends WhatsApp messages, not email");
  // no phone: GHL's contact has none (a WhatsApp contact known only by its LID); acceptOutbound
  // finds it by contactId or refuses with 422
  return p;
}

class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/** `p`, or a TimeoutError after `ms` (p keeps running; its late result or error is ignored). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
