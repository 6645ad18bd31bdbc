import type { Redis } from "ioredis";
import { z } from "zod";
import type { Db } from "../db";
import { AppError, badRequest, notFound } from "../errors";
import { acceptOutbound } from "../messages/accept-outbound";

// The GHL workflow action "Send WhatsApp message", for locations in custom-provider mode, where
// GHL's own SMS actions do not reach the app (docs/ghl.md#workflow-actions). GHL posts the
// action's fields as `data`, with `extras: {locationId, contactId, workflowId}` and `meta: {key,
// version}`. The fields: `number` (a number's name, empty = the usual choice), `phone` (mapped to
// the contact's phone in the action's defaults), `message`, `mediaUrl`. The message is queued
// through the same path as the Delivery URL's, so the warm-up governor, pacing and the number
// choice apply to it as to any other.

export const SEND_MESSAGE_ACTION_KEY = "whatsapp_send_message";

const optionalText = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((s) => s?.trim() || undefined);

export const sendMessageCallSchema = z.object({
  data: z.object({
    number: optionalText(32),
    phone: optionalText(40),
    message: z.string().max(4096).optional().default(""),
    mediaUrl: optionalText(2000),
  }),
  extras: z.object({
    locationId: z.string().min(1).max(100),
    contactId: z.string().max(100).optional(),
    workflowId: z.string().max(200).optional(),
  }),
  meta: z.object({ key: z.string().max(100), version: z.string().max(50).optional() }),
});

export async function runSendMessageAction(
  db: Db,
  redis: Redis,
  raw: unknown,
  o: { allowedMediaOrigins?: readonly string[] } = {},
) {
  const r = sendMessageCallSchema.safeParse(raw);
  if (!r.success)
    throw badRequest(
      "not a Send WhatsApp message call",
      r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  const { data: d, extras: x, meta } = r.data;
  if (meta.key !== SEND_MESSAGE_ACTION_KEY) throw badRequest(`unknown action key ${meta.key}`);
  if (!d.phone && !x.contactId)
    throw new AppError("unprocessable", "the action has no phone and no contact to send to");
  if (d.number) {
    const known = await db.instance.count({ where: { locationId: x.locationId, name: d.number } });
    if (!known) throw notFound(`no number named ${d.number} in this location`);
  }
  const accepted = await acceptOutbound(db, redis, {
    locationId: x.locationId,
    ghlContactId: x.contactId,
    phone: d.phone,
    text: d.message,
    attachments: d.mediaUrl ? [d.mediaUrl] : [],
    source: "API",
    instanceName: d.number,
    allowedMediaOrigins: o.allowedMediaOrigins,
  });
  // GHL shows this as the action's response; its fields can be mapped to custom variables
  return { messageId: accepted.id, status: accepted.status, number: d.number ?? null };
}
