import { retryOnConflict, type Db } from "../db";
import { normalizePhone } from "../contacts/phone";

// What the worker hands over for each WhatsApp message worth relaying (already decrypted and
// reduced by the socket layer). Stored once per (instance, WhatsApp id); the GHL post is a job.
export type InboundWa = {
  locationId: string;
  instanceId: string;
  waMessageId: string;
  /** phone of the other party, digits or E.164, resolved from LID where possible */
  phone: string | null;
  jid: string;
  lid?: string | null;
  pushName?: string | null;
  fromMe: boolean;
  type: "text" | "image" | "video" | "audio" | "document" | "sticker" | "location" | "contact" | "other";
  text: string | null;
  media?: { mediaId: string; mimetype: string; fileName: string } | null;
  at: Date;
};

export type Recorded = { id: string; created: boolean; skipped?: "echo" | "no-phone" };

export async function recordInbound(db: Db, m: InboundWa): Promise<Recorded> {
  // our own sends come back as fromMe upserts: the id is already on the OUTBOUND row
  const existing = await db.message.findUnique({
    where: { instanceId_waMessageId: { instanceId: m.instanceId, waMessageId: m.waMessageId } },
    select: { id: true, direction: true },
  });
  if (existing) return { id: existing.id, created: false, skipped: existing.direction === "OUTBOUND" ? "echo" : undefined };
  if (!m.phone) return { id: "", created: false, skipped: "no-phone" };
  const { e164 } = normalizePhone(m.phone.startsWith("+") ? m.phone : `+${m.phone}`);

  const contact = await retryOnConflict(() => db.contact.upsert({
    where: { locationId_phone: { locationId: m.locationId, phone: e164 } },
    create: { locationId: m.locationId, phone: e164, waJid: m.jid, waLid: m.lid ?? null, name: m.fromMe ? null : m.pushName ?? null, stickyInstanceId: m.instanceId },
    // the number a contact last wrote to is the one that answers them (sticky routing)
    update: { waJid: m.jid, ...(m.lid ? { waLid: m.lid } : {}), ...(!m.fromMe && m.pushName ? { name: m.pushName } : {}), ...(!m.fromMe ? { stickyInstanceId: m.instanceId } : {}) },
  }));
  try {
    const row = await db.message.create({
      data: {
        locationId: m.locationId,
        instanceId: m.instanceId,
        contactId: contact.id,
        direction: m.fromMe ? "OUTBOUND" : "INBOUND",
        source: m.fromMe ? "PHONE" : "WHATSAPP",
        waMessageId: m.waMessageId,
        type: m.type,
        text: m.text,
        mediaRef: m.media ?? undefined,
        status: "RECEIVED",
        createdAt: m.at,
      },
    });
    return { id: row.id, created: true };
  } catch (e) {
    if ((e as { code?: string }).code === "P2002") {
      const again = await db.message.findUniqueOrThrow({ where: { instanceId_waMessageId: { instanceId: m.instanceId, waMessageId: m.waMessageId } } });
      return { id: again.id, created: false };
    }
    throw e;
  }
}
