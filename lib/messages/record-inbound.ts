import { type Linked, linkLidToPhone, normalizeLid } from "../contacts/lid-contacts";
import { normalizePhone } from "../contacts/phone";
import type { Db } from "../db";
import { Prisma } from "../generated/prisma/client";
import { UNNAMED_GROUP } from "../groups/group-names";

// What the worker hands over for each WhatsApp message worth relaying (already decrypted and
// reduced by the socket layer). Stored once per (instance, WhatsApp id); the GHL post is a job.
export type InboundWa = {
  locationId: string;
  instanceId: string;
  waMessageId: string;
  /** phone of the other party, digits or E.164, resolved from LID where possible */
  phone: string | null;
  jid: string;
  /** the other party's LID JID when WhatsApp gave one: with no phone, the contact is kept by it */
  lid?: string | null;
  pushName?: string | null;
  fromMe: boolean;
  type: "text" | "image" | "video" | "audio" | "document" | "sticker" | "location" | "contact" | "other";
  text: string | null;
  media?: { mediaId: string; mimetype: string; fileName: string } | null;
  at: Date;
  /**
   * a group message: `jid` is the group, its contact is kept by that jid (no phone) and named
   * `name` (`Group: <subject>`; null: not known now, the stored one stays)
   */
  group?: { name: string | null } | null;
  /** brought by history sync: posted by the history import, not the live GHL queue (lib/history/) */
  history?: boolean;
};

/** `linked`: this message made a LID-only contact's phone known (its GHL contact needs the phone). */
export type Recorded = { id: string; created: boolean; skipped?: "echo" | "no-phone"; linked?: Linked };

export async function recordInbound(db: Db, m: InboundWa): Promise<Recorded> {
  if (m.group) return store(db, m, groupContact(m, m.group.name));
  const lid = normalizeLid(m.lid);
  const name = m.fromMe ? null : (m.pushName ?? null);
  if (!m.phone) {
    // a contact that shares only its LID: kept by it (one contact per LID per location) until its phone is known
    if (lid)
      return store(
        db,
        m,
        Prisma.sql`
      INSERT INTO "Contact" (id, "locationId", phone, "waJid", "waLid", name, "stickyInstanceId", "createdAt", "updatedAt")
      SELECT gen_random_uuid()::text, ${m.locationId}, NULL, ${lid}, ${lid}, ${name}::text, ${m.instanceId}, now(), now()
      WHERE NOT EXISTS (SELECT 1 FROM existing)
      ON CONFLICT ("locationId", "waLid") DO UPDATE SET
        -- a contact whose phone is known keeps being written to at its phone JID
        "waJid" = CASE WHEN "Contact".phone IS NULL THEN EXCLUDED."waJid" ELSE "Contact"."waJid" END,
        name = COALESCE(EXCLUDED.name, "Contact".name),
        "stickyInstanceId" = CASE WHEN ${m.fromMe} THEN "Contact"."stickyInstanceId" ELSE EXCLUDED."stickyInstanceId" END,
        "updatedAt" = now()
      RETURNING id`,
      );
    // our own sends come back as fromMe upserts: the id is already on the OUTBOUND row
    const existing = await findByWaId(db, m);
    return existing
      ? { id: existing.id, created: false, skipped: existing.direction === "OUTBOUND" ? "echo" : undefined }
      : { id: "", created: false, skipped: "no-phone" };
  }
  const { e164 } = normalizePhone(m.phone.startsWith("+") ? m.phone : `+${m.phone}`);
  // the phone of a LID-only contact made known by this message: that contact gets it (or is merged)
  const linked = lid ? await linkLidToPhone(db, m.locationId, lid, e164) : undefined;
  const r = await store(
    db,
    m,
    Prisma.sql`
      INSERT INTO "Contact" (id, "locationId", phone, "waJid", "waLid", name, "stickyInstanceId", "createdAt", "updatedAt")
      SELECT gen_random_uuid()::text, ${m.locationId}, ${e164}, ${m.jid}, ${lid}::text, ${name}::text, ${m.instanceId}, now(), now()
      WHERE NOT EXISTS (SELECT 1 FROM existing)
      ON CONFLICT ("locationId", phone) DO UPDATE SET
        "waJid" = EXCLUDED."waJid",
        "waLid" = COALESCE(EXCLUDED."waLid", "Contact"."waLid"),
        name = COALESCE(EXCLUDED.name, "Contact".name),
        "stickyInstanceId" = CASE WHEN ${m.fromMe} THEN "Contact"."stickyInstanceId" ELSE EXCLUDED."stickyInstanceId" END,
        "updatedAt" = now()
      RETURNING id`,
  );
  return linked && linked.kind !== "none" ? { ...r, linked } : r;
}

/**
 * One statement (this runs for every message a number receives): the message already stored
 * under this WhatsApp id (our own send echoed back, a redelivery), else the contact created or
 * updated by `contact` (a CTE reading `existing`) — the number a contact last wrote to is the one
 * that answers them (sticky routing) — and the message. A concurrent insert of the same id
 * inserts nothing (ON CONFLICT).
 */
async function store(db: Db, m: InboundWa, contact: Prisma.Sql): Promise<Recorded> {
  const [row] = await db.$queryRaw<
    { id: string | null; existingId: string | null; existingDirection: string | null }[]
  >`
    WITH existing AS (
      SELECT id, direction::text AS direction FROM "Message" WHERE "instanceId" = ${m.instanceId} AND "waMessageId" = ${m.waMessageId}
    ), c AS (
${contact}
    ), ins AS (
      INSERT INTO "Message" (id, "locationId", "instanceId", "contactId", direction, source, "waMessageId", type, text, "mediaRef", status, history, "createdAt", "updatedAt")
      SELECT gen_random_uuid()::text, ${m.locationId}, ${m.instanceId}, c.id,
             ${m.fromMe ? "OUTBOUND" : "INBOUND"}::"MessageDirection", ${m.fromMe ? "PHONE" : "WHATSAPP"}::"MessageSource",
             ${m.waMessageId}, ${m.type}, ${m.text}::text, ${m.media ? JSON.stringify(m.media) : null}::jsonb, 'RECEIVED'::"MessageStatus", ${m.history === true}, ${m.at}, now()
      FROM c
      ON CONFLICT ("instanceId", "waMessageId") DO NOTHING
      RETURNING id
    )
    SELECT (SELECT id FROM ins) AS id, (SELECT id FROM existing) AS "existingId", (SELECT direction FROM existing) AS "existingDirection"`;
  if (row?.id) return { id: row.id, created: true };
  if (row?.existingId)
    return { id: row.existingId, created: false, skipped: row.existingDirection === "OUTBOUND" ? "echo" : undefined };
  // stored by a concurrent call between the two parts of the statement
  const again = await findByWaId(db, m);
  if (!again) throw new Error("the inbound message was not stored");
  return { id: again.id, created: false };
}

/**
 * The contact a group stands for: one per group jid per location, without phone or LID, named
 * after the group (a member's push name never names it). What GHL writes there goes to the jid.
 */
function groupContact(m: InboundWa, name: string | null): Prisma.Sql {
  return Prisma.sql`
      INSERT INTO "Contact" (id, "locationId", phone, "waJid", "waGroupJid", name, "stickyInstanceId", "createdAt", "updatedAt")
      SELECT gen_random_uuid()::text, ${m.locationId}, NULL, ${m.jid}, ${m.jid}, COALESCE(${name}::text, ${UNNAMED_GROUP}), ${m.instanceId}, now(), now()
      WHERE NOT EXISTS (SELECT 1 FROM existing)
      ON CONFLICT ("locationId", "waGroupJid") DO UPDATE SET
        name = COALESCE(${name}::text, "Contact".name),
        "stickyInstanceId" = CASE WHEN ${m.fromMe} THEN "Contact"."stickyInstanceId" ELSE EXCLUDED."stickyInstanceId" END,
        "updatedAt" = now()
      RETURNING id`;
}

function findByWaId(db: Db, m: InboundWa) {
  return db.message.findUnique({
    where: { instanceId_waMessageId: { instanceId: m.instanceId, waMessageId: m.waMessageId } },
    select: { id: true, direction: true },
  });
}
