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

/** What posting a message to GHL needs, read in one query (a Prisma `include` is three). */
export type InboundToPost = {
  id: string;
  locationId: string;
  status: string;
  direction: string;
  text: string | null;
  waMessageId: string | null;
  ghlMessageId: string | null;
  mediaRef: unknown;
  createdAt: Date;
  seq: bigint;
  settings: unknown;
  contact: { id: string; phone: string; name: string | null; ghlContactId: string | null; ghlConversationId: string | null } | null;
  /** the contact's earlier messages not in GHL yet, in posting order (at most 20): the order gate's input */
  earlier: { id: string; locationId: string }[];
};

export async function loadInboundToPost(db: Db, messageId: string): Promise<InboundToPost | null> {
  const [r] = await db.$queryRaw<(Omit<InboundToPost, "contact"> & { contactId: string | null; phone: string | null; name: string | null; ghlContactId: string | null; ghlConversationId: string | null })[]>`
    SELECT m.id, m."locationId", m.status::text AS status, m.direction::text AS direction, m.text, m."waMessageId", m."ghlMessageId",
           m."mediaRef", m."createdAt", m.seq, l.settings,
           c.id AS "contactId", c.phone, c.name, c."ghlContactId", c."ghlConversationId",
           (SELECT COALESCE(json_agg(json_build_object('id', e.id, 'locationId', e."locationId") ORDER BY e."createdAt", e.seq), '[]'::json)
              FROM (SELECT e.id, e."locationId", e."createdAt", e.seq FROM "Message" e
                    WHERE m.status = 'RECEIVED' AND e."contactId" = m."contactId" AND e.status = 'RECEIVED' AND (e."createdAt", e.seq) < (m."createdAt", m.seq)
                    ORDER BY e."createdAt", e.seq LIMIT 20) e) AS earlier
    FROM "Message" m JOIN "Location" l ON l.id = m."locationId" LEFT JOIN "Contact" c ON c.id = m."contactId"
    WHERE m.id = ${messageId}`;
  if (!r) return null;
  const { contactId, phone, name, ghlContactId, ghlConversationId, ...m } = r;
  return { ...m, contact: contactId ? { id: contactId, phone: phone!, name, ghlContactId, ghlConversationId } : null };
}

/**
 * Posts one WhatsApp message into its GHL conversation (creating the contact and conversation in
 * GHL the first time). `loaded`: the message as read at the start of the job, when the caller has it.
 */
export async function postInboundToGhl(db: Db, ghl: GhlCall, messageId: string, cfg: SyncConfig, loaded?: InboundToPost | null): Promise<Posted> {
  const m = loaded ?? (await loadInboundToPost(db, messageId));
  if (!m) throw new Error(`message ${messageId} not found`);
  if (m.status === "SYNCED") return { result: "already" };
  if (!m.contact) throw new Error(`message ${messageId} has no contact`);
  // a contact new to GHL may have been created there by its previous message since `loaded` was read
  const contact = m.contact.ghlContactId && m.contact.ghlConversationId ? m.contact : (await db.contact.findUnique({ where: { id: m.contact.id } })) ?? m.contact;
  const contactId = await ensureGhlContact(db, ghl, m.locationId, contact);
  const conversationId = await ensureConversation(db, ghl, m.locationId, contact.id, contactId, contact.ghlConversationId);
  const settings = parseLocationSettings(m.settings);
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
  // marked SYNCED, and in the same statement the contact's next message not in GHL yet (the caller
  // starts it now instead of at its next poll)
  const [next] = await db.$queryRaw<NextUnposted[]>`
    WITH u AS (
      UPDATE "Message" SET status = 'SYNCED', "ghlMessageId" = COALESCE("ghlMessageId", ${res.messageId ?? null}::text), "updatedAt" = now()
      WHERE id = ${m.id}
      RETURNING "contactId", "createdAt", seq
    )
    SELECT n.id, n."locationId" FROM "Message" n, u
    WHERE n."contactId" = u."contactId" AND n.status = 'RECEIVED'
      AND (n."createdAt" > u."createdAt" OR (n."createdAt" = u."createdAt" AND n.seq > u.seq))
    ORDER BY n."createdAt", n.seq
    LIMIT 1`;
  return { result: "posted", next: next ?? null };
}

/** The contact's next message not in GHL yet. */
export type NextUnposted = { id: string; locationId: string };
/** `next`: known when posted (null: none); unknown (absent) when the message was already in GHL. */
export type Posted = { result: "posted" | "already"; next?: NextUnposted | null };

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
