import type { Redis } from "ioredis";
import type { Db } from "../db";
import { AppError, unauthorized } from "../errors";
import { verifyWebhookSignature, type WebhookKeys } from "../ghl/webhook-verify";
import { acceptOutbound, type Accepted } from "./accept-outbound";
import { deliveryPayloadSchema } from "./delivery-payload";

// The Delivery URL: GHL hands us a message a user (or a workflow) wrote. Verified on the raw
// bytes, validated, stored and queued before we answer; GHL does not retry (except on 429), so a
// 2xx must mean "it is in Postgres".
export async function acceptDelivery(
  d: { db: Db; redis: Redis; keys: WebhookKeys; allowUnsigned: boolean },
  raw: Buffer,
  headers: Headers,
): Promise<Accepted> {
  const sig = verifyWebhookSignature(raw, headers, d.keys);
  if (!sig.ok && !(sig.reason === "missing" && d.allowUnsigned)) {
    throw unauthorized(sig.reason === "missing" ? "the Delivery URL call is not signed" : "the Delivery URL signature does not verify");
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new AppError("bad_request", "the body is not valid JSON", 400);
  }
  const p = deliveryPayloadSchema.parse(json);
  if (p.type.toLowerCase() === "email") throw new AppError("unprocessable", "this provider sends WhatsApp messages, not email", 422);
  if (!p.phone) throw new AppError("unprocessable", "the message has no phone number to send to", 422);
  return acceptOutbound(d.db, d.redis, {
    locationId: p.locationId,
    ghlMessageId: p.messageId,
    ghlContactId: p.contactId,
    phone: p.phone,
    text: p.message ?? "",
    attachments: p.attachments ?? [],
    source: "GHL",
  });
}
