import { z } from "zod";
import type { Db } from "../db";
import { signMediaPath } from "../media/signed-url";
import { MEDIA_TTL_DAYS } from "../media/media-store";
import { parseLocationSettings } from "../tenants/settings";

// The GHL side of a message: post what WhatsApp brought into the contact's conversation, and
// report outbound statuses. Called by the worker's GHL job consumer; every call goes through the
// location's GHL client (token refresh, pacing, retries), passed in as `ghl`.

/** A location-scoped GHL caller: method, path (with query), JSON body → parsed JSON. */
export type GhlCall = <T = unknown>(method: "GET" | "POST" | "PUT", path: string, body?: unknown) => Promise<T>;

const contactSearch = z.object({ contact: z.object({ id: z.string() }).passthrough().nullable().optional() }).passthrough();
const contactUpsert = z.object({ contact: z.object({ id: z.string() }).passthrough() }).passthrough();
const conversationSearch = z.object({ conversations: z.array(z.object({ id: z.string() }).passthrough()).default([]) }).passthrough();
const conversationCreate = z
  .object({ conversation: z.object({ id: z.string() }).passthrough().optional(), id: z.string().optional() })
  .passthrough();
const inboundResult = z.object({ messageId: z.string().optional(), conversationId: z.string().optional() }).passthrough();

export type SyncConfig = { appUrl: string; conversationProviderId: string };

export async function postInboundToGhl(db: Db, ghl: GhlCall, messageId: string, cfg: SyncConfig): Promise<"posted" | "already"> {
  const m = await db.message.findUniqueOrThrow({ where: { id: messageId }, include: { contact: true, location: { select: { settings: true } } } });
  if (m.status === "SYNCED") return "already";
  if (!m.contact) throw new Error(`message ${messageId} has no contact`);
  const contactId = await ensureGhlContact(db, ghl, m.locationId, m.contact);
  const conversationId = await ensureConversation(db, ghl, m.locationId, m.contact.id, contactId, m.contact.ghlConversationId);
  const settings = parseLocationSettings(m.location.settings);
  const media = m.mediaRef as { mediaId?: string; fileName?: string } | null;
  const attachments = media?.mediaId ? [`${cfg.appUrl}${signMediaPath(media.mediaId, media.fileName ?? "file", MEDIA_TTL_DAYS * 86_400)}`] : [];
  const body: Record<string, unknown> = {
    type: settings.providerMode === "custom" ? "Custom" : "SMS",
    contactId,
    conversationId,
    message: m.text ?? (attachments.length ? "" : "[empty message]"),
    altId: m.waMessageId ?? undefined,
    direction: m.direction === "OUTBOUND" ? "outbound" : "inbound",
    date: m.createdAt.toISOString(),
  };
  if (cfg.conversationProviderId) body.conversationProviderId = cfg.conversationProviderId;
  if (attachments.length) body.attachments = attachments;
  const res = inboundResult.parse(await ghl("POST", "/conversations/messages/inbound", body));
  await db.message.update({
    where: { id: m.id },
    data: { status: "SYNCED", ghlMessageId: m.ghlMessageId ?? res.messageId ?? undefined },
  });
  return "posted";
}

export async function pushStatusToGhl(ghl: GhlCall, ghlMessageId: string, status: "delivered" | "read" | "failed" | "pending", error?: string) {
  const body: Record<string, unknown> = { status };
  // GHL wants all three error fields whenever `error` is sent
  if (status === "failed") body.error = { code: "1", type: "saas", message: error ?? "The message could not be delivered on WhatsApp" };
  await ghl("PUT", `/conversations/messages/${encodeURIComponent(ghlMessageId)}/status`, body);
}

async function ensureGhlContact(db: Db, ghl: GhlCall, locationId: string, c: { id: string; phone: string; name: string | null; ghlContactId: string | null }) {
  if (c.ghlContactId) return c.ghlContactId;
  const q = new URLSearchParams({ locationId, number: c.phone });
  const found = contactSearch.parse(await ghl("GET", `/contacts/search/duplicate?${q}`));
  let id = found.contact?.id;
  if (!id) {
    // no `tags`: sending them would overwrite the contact's tags
    const up = contactUpsert.parse(await ghl("POST", "/contacts/upsert", { locationId, phone: c.phone, ...(c.name ? { name: c.name } : {}), source: "WhatsApp" }));
    id = up.contact.id;
  }
  await db.contact.update({ where: { id: c.id }, data: { ghlContactId: id } });
  return id;
}

async function ensureConversation(db: Db, ghl: GhlCall, locationId: string, contactRowId: string, ghlContactId: string, cached: string | null) {
  if (cached) return cached;
  const q = new URLSearchParams({ locationId, contactId: ghlContactId });
  const found = conversationSearch.parse(await ghl("GET", `/conversations/search?${q}`));
  let id: string | undefined = found.conversations[0]?.id;
  if (!id) {
    const created = conversationCreate.parse(await ghl("POST", "/conversations/", { locationId, contactId: ghlContactId }));
    id = created.conversation?.id ?? created.id;
  }
  if (!id) throw new Error("GHL created a conversation without an id");
  await db.contact.update({ where: { id: contactRowId }, data: { ghlConversationId: id } });
  return id;
}
