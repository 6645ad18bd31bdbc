import { z } from "zod";
import type { Db } from "../db";
import { MEDIA_TTL_DAYS } from "../media/media-store";
import { signMediaPath } from "../media/signed-url";
import { parseLocationSettings } from "../tenants/settings";

// The GHL side of a message: post what WhatsApp brought into the contact's conversation, and
// report outbound statuses. Called by the worker's GHL job consumer; every call goes through the
// location's GHL client (token refresh, pacing, retries), passed in as `ghl`.

/** A location-scoped GHL caller: method, path (with query), JSON body → parsed JSON. */
export type GhlCall = <T = unknown>(method: "GET" | "POST" | "PUT", path: string, body?: unknown) => Promise<T>;

const contactSearch = z
  .object({ contact: z.object({ id: z.string() }).passthrough().nullable().optional() })
  .passthrough();
const contactUpsert = z.object({ contact: z.object({ id: z.string() }).passthrough() }).passthrough();
const contactCreate = contactUpsert;
const contactUpdate = z.object({ contact: z.object({ id: z.string() }).passthrough().optional() }).passthrough();
const conversationSearch = z
  .object({ conversations: z.array(z.object({ id: z.string() }).passthrough()).default([]) })
  .passthrough();
const conversationCreate = z
  .object({ conversation: z.object({ id: z.string() }).passthrough().optional(), id: z.string().optional() })
  .passthrough();
const inboundResult = z
  .object({ messageId: z.string().optional(), conversationId: z.string().optional() })
  .passthrough();

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
  contact: GhlContactRow | null;
  /** the contact's LID JID, if WhatsApp gave one (pending notes may be filed under it) */
  contactLid: string | null;
  /** the number it came through */
  instanceId: string | null;
  /** the contact's earlier messages not in GHL yet, in posting order (at most 20): the order gate's input */
  earlier: { id: string; locationId: string }[];
};

/** The local contact as the GHL side needs it; `phone` null: a WhatsApp contact known only by its LID. */
export type GhlContactRow = {
  id: string;
  phone: string | null;
  name: string | null;
  ghlContactId: string | null;
  ghlConversationId: string | null;
  ghlPhone: string | null;
};

/** A message of a location: every read of a tenant's rows names its location. */
export type MessageRef = { locationId: string; messageId: string };

export async function loadInboundToPost(db: Db, ref: MessageRef): Promise<InboundToPost | null> {
  const [r] = await db.$queryRaw<
    (Omit<InboundToPost, "contact"> & { contactId: string | null } & Omit<GhlContactRow, "id">)[]
  >`
    SELECT m.id, m."locationId", m."instanceId", m.status::text AS status, m.direction::text AS direction, m.text, m."waMessageId", m."ghlMessageId",
           m."mediaRef", m."createdAt", m.seq, l.settings,
           c.id AS "contactId", c.phone, c.name, c."ghlContactId", c."ghlConversationId", c."ghlPhone", c."waLid" AS "contactLid",
           (SELECT COALESCE(json_agg(json_build_object('id', e.id, 'locationId', e."locationId") ORDER BY e."createdAt", e.seq), '[]'::json)
              FROM (SELECT e.id, e."locationId", e."createdAt", e.seq FROM "Message" e
                    WHERE m.status = 'RECEIVED' AND e."locationId" = m."locationId" AND e."contactId" = m."contactId" AND e.status = 'RECEIVED' AND NOT e.history
                      AND (e."createdAt", e.seq) < (m."createdAt", m.seq)
                    ORDER BY e."createdAt", e.seq LIMIT 20) e) AS earlier
    FROM "Message" m JOIN "Location" l ON l.id = m."locationId" LEFT JOIN "Contact" c ON c.id = m."contactId" AND c."locationId" = m."locationId"
    WHERE m.id = ${ref.messageId} AND m."locationId" = ${ref.locationId}`;
  if (!r) return null;
  const { contactId, phone, name, ghlContactId, ghlConversationId, ghlPhone, ...m } = r;
  return {
    ...m,
    contact: contactId ? { id: contactId, phone, name, ghlContactId, ghlConversationId, ghlPhone } : null,
  };
}

/**
 * GHL never took it (the job gave up): FAILED, visible in the message log with the reason, and no
 * longer holding back the contact's later messages.
 */
export async function markNotPosted(db: Db, ref: MessageRef, reason: string): Promise<void> {
  await db.message.updateMany({
    where: { id: ref.messageId, locationId: ref.locationId, status: "RECEIVED" },
    data: { status: "FAILED", error: `Not posted to GHL: ${reason}`.slice(0, 500) },
  });
}

/**
 * Posts one WhatsApp message into its GHL conversation (creating the contact and conversation in
 * GHL the first time). `loaded`: the message as read at the start of the job, when the caller has it.
 */
export async function postInboundToGhl(
  db: Db,
  ghl: GhlCall,
  ref: MessageRef,
  cfg: SyncConfig,
  loaded?: InboundToPost | null,
): Promise<Posted> {
  const { messageId } = ref;
  const m = loaded ?? (await loadInboundToPost(db, ref));
  if (!m) throw new Error(`message ${messageId} not found`);
  if (m.status === "SYNCED") return { result: "already" };
  if (!m.contact) throw new Error(`message ${messageId} has no contact`);
  // a contact new to GHL may have been created there by its previous message since `loaded` was read
  const contact =
    m.contact.ghlContactId && m.contact.ghlConversationId && !needsPhone(m.contact)
      ? m.contact
      : ((await readContact(db, m.locationId, m.contact.id)) ?? m.contact);
  const ghlContact = await ensureGhlContact(db, ghl, m.locationId, contact);
  const contactId = ghlContact.id;
  const conversationId = await ensureConversation(
    db,
    ghl,
    m.locationId,
    contact.id,
    contactId,
    ghlContact.conversationId,
  );
  const settings = parseLocationSettings(m.settings);
  const media = m.mediaRef as { mediaId?: string; fileName?: string } | null;
  const attachments = media?.mediaId
    ? [`${cfg.appUrl}${signMediaPath(media.mediaId, media.fileName ?? "file", MEDIA_TTL_DAYS * 86_400)}`]
    : [];
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
    WHERE n."contactId" = u."contactId" AND n.status = 'RECEIVED' AND NOT n.history
      AND (n."createdAt" > u."createdAt" OR (n."createdAt" = u."createdAt" AND n.seq > u.seq))
    ORDER BY n."createdAt", n.seq
    LIMIT 1`;
  return { result: "posted", next: next ?? null };
}

/** The contact's next message not in GHL yet. */
export type NextUnposted = { id: string; locationId: string };
/** `next`: known when posted (null: none); unknown (absent) when the message was already in GHL. */
export type Posted = { result: "posted" | "already"; next?: NextUnposted | null };

export async function pushStatusToGhl(
  ghl: GhlCall,
  ghlMessageId: string,
  status: "delivered" | "read" | "failed" | "pending",
  error?: string,
) {
  const body: Record<string, unknown> = { status };
  // GHL wants all three error fields whenever `error` is sent; a pending message carries its
  // reason the same way (docs/ghl.md#message-status)
  if (status === "failed")
    body.error = { code: "1", type: "saas", message: error ?? "The message could not be delivered on WhatsApp" };
  else if (status === "pending" && error) body.error = { code: "1", type: "saas", message: error };
  await ghl("PUT", `/conversations/messages/${encodeURIComponent(ghlMessageId)}/status`, body);
}

/**
 * The contact's GHL contact: the cached one (given the phone it lacks, when the phone became
 * known), else found by phone or upserted by phone, else — a WhatsApp contact known only by its
 * LID — created without a phone, under its WhatsApp name (GHL requires nothing but the location).
 */
async function ensureGhlContact(
  db: Db,
  ghl: GhlCall,
  locationId: string,
  c: GhlContactRow,
): Promise<{ id: string; conversationId: string | null }> {
  if (c.ghlContactId) {
    if (needsPhone(c))
      return givePhone(db, ghl, locationId, c as GhlContactRow & { ghlContactId: string; phone: string });
    return { id: c.ghlContactId, conversationId: c.ghlConversationId };
  }
  if (!c.phone) {
    // no `phone`: there is none to give, and no way to look the person up in GHL first
    const created = contactCreate.parse(
      await ghl("POST", "/contacts/", { locationId, name: c.name ?? "WhatsApp contact", source: "WhatsApp" }),
    );
    await db.contact.updateMany({
      where: { id: c.id, locationId },
      data: { ghlContactId: created.contact.id, ghlPhone: null },
    });
    return { id: created.contact.id, conversationId: null };
  }
  const found = await findGhlContactByPhone(ghl, locationId, c.phone);
  let id = found;
  if (!id) {
    // no `tags`: sending them would overwrite the contact's tags
    const up = contactUpsert.parse(
      await ghl("POST", "/contacts/upsert", {
        locationId,
        phone: c.phone,
        ...(c.name ? { name: c.name } : {}),
        source: "WhatsApp",
      }),
    );
    id = up.contact.id;
  }
  await db.contact.updateMany({ where: { id: c.id, locationId }, data: { ghlContactId: id, ghlPhone: c.phone } });
  return { id, conversationId: c.ghlConversationId };
}

/**
 * The phone of a contact GHL has without it became known: that same GHL contact gets it
 * (PUT /contacts/{id}). If GHL already has another contact with this phone, that one is the
 * person's GHL contact from now on (the rule of lib/contacts/lid-contacts.ts: the phone-keyed
 * contact wins); the conversation is then looked up for it again.
 */
async function givePhone(
  db: Db,
  ghl: GhlCall,
  locationId: string,
  c: GhlContactRow & { ghlContactId: string; phone: string },
) {
  const other = await findGhlContactByPhone(ghl, locationId, c.phone);
  if (other && other !== c.ghlContactId) {
    await db.contact.updateMany({
      where: { id: c.id, locationId },
      data: { ghlContactId: other, ghlPhone: c.phone, ghlConversationId: null },
    });
    return { id: other, conversationId: null };
  }
  if (!other)
    contactUpdate.parse(await ghl("PUT", `/contacts/${encodeURIComponent(c.ghlContactId)}`, { phone: c.phone }));
  await db.contact.updateMany({ where: { id: c.id, locationId }, data: { ghlPhone: c.phone } });
  return { id: c.ghlContactId, conversationId: c.ghlConversationId };
}

/** A `contact` job: the phone of a contact became known outside a message (WhatsApp's LID mapping). */
export async function syncGhlContactPhone(
  db: Db,
  ghl: GhlCall,
  locationId: string,
  contactId: string,
): Promise<"updated" | "nothing"> {
  const c = await readContact(db, locationId, contactId);
  if (!c || !c.ghlContactId || !needsPhone(c)) return "nothing";
  await givePhone(db, ghl, locationId, c as GhlContactRow & { ghlContactId: string; phone: string });
  return "updated";
}

function needsPhone(c: GhlContactRow): boolean {
  return !!c.ghlContactId && !!c.phone && c.ghlPhone !== c.phone;
}

async function findGhlContactByPhone(ghl: GhlCall, locationId: string, phone: string): Promise<string | undefined> {
  const q = new URLSearchParams({ locationId, number: phone });
  return contactSearch.parse(await ghl("GET", `/contacts/search/duplicate?${q}`)).contact?.id;
}

function readContact(db: Db, locationId: string, id: string): Promise<GhlContactRow | null> {
  return db.contact.findFirst({
    where: { id, locationId },
    select: { id: true, phone: true, name: true, ghlContactId: true, ghlConversationId: true, ghlPhone: true },
  });
}

async function ensureConversation(
  db: Db,
  ghl: GhlCall,
  locationId: string,
  contactRowId: string,
  ghlContactId: string,
  cached: string | null,
) {
  if (cached) return cached;
  const q = new URLSearchParams({ locationId, contactId: ghlContactId });
  const found = conversationSearch.parse(await ghl("GET", `/conversations/search?${q}`));
  let id: string | undefined = found.conversations[0]?.id;
  if (!id) {
    const created = conversationCreate.parse(
      await ghl("POST", "/conversations/", { locationId, contactId: ghlContactId }),
    );
    id = created.conversation?.id ?? created.id;
  }
  if (!id) throw new Error("GHL created a conversation without an id");
  await db.contact.updateMany({ where: { id: contactRowId, locationId }, data: { ghlConversationId: id } });
  return id;
}
