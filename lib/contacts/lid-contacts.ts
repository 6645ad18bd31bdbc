import type { Db } from "../db";
import { phoneToJid } from "./phone";

// WhatsApp contacts that share only their LID (docs/decisions/009-lid-only-contacts.md): kept by
// LID (one contact per LID per location) until the phone becomes known, then linked — the same
// row, so the same GHL contact. When a phone-keyed row and a LID-keyed row turn out to be one
// person, they are merged by `mergePlan`'s rule.

/** `<user>@lid` for a LID JID in any form (`123@lid`, `123:4@lid`), else null. */
export function normalizeLid(jid: string | null | undefined): string | null {
  const m = /^(\d+)(?::\d+)?@lid$/.exec(String(jid ?? "").trim());
  return m ? `${m[1]}@lid` : null;
}

export type ContactRow = {
  id: string;
  phone: string | null;
  waJid: string | null;
  waLid: string | null;
  ghlContactId: string | null;
  ghlConversationId: string | null;
  ghlPhone: string | null;
  name: string | null;
  stickyInstanceId: string | null;
};

export type Merge = {
  keep: string;
  drop: string;
  data: Omit<ContactRow, "id">;
  /** a GHL contact the dropped row had, left in GHL (its earlier messages stay there) */
  leftInGhl: string | null;
};

/**
 * The merge rule. The phone-keyed row survives: it is the one GHL users and workflows know by phone
 * (a delivery from GHL, a GHL contact found by phone). It takes the LID and, when it has no GHL
 * contact of its own, the LID row's GHL contact and conversation (whose phone then gets pushed to
 * GHL, `ghlPhone` being the one that contact had). When both have a GHL contact, the phone-keyed
 * one's stays; the other is left as it is in GHL. The LID row's messages move to the survivor.
 */
export function mergePlan(byPhone: ContactRow, byLid: ContactRow, lid: string): Merge {
  const phone = byPhone.phone!;
  const takeGhl = !byPhone.ghlContactId && !!byLid.ghlContactId;
  return {
    keep: byPhone.id,
    drop: byLid.id,
    data: {
      phone,
      waJid: byPhone.waJid ?? phoneToJid(phone),
      waLid: lid,
      ghlContactId: takeGhl ? byLid.ghlContactId : byPhone.ghlContactId,
      ghlConversationId: takeGhl ? byLid.ghlConversationId : byPhone.ghlConversationId,
      ghlPhone: takeGhl ? byLid.ghlPhone : byPhone.ghlPhone,
      name: byPhone.name ?? byLid.name,
      // the number the person has been writing to from WhatsApp answers them
      stickyInstanceId: byLid.stickyInstanceId ?? byPhone.stickyInstanceId,
    },
    leftInGhl:
      byPhone.ghlContactId && byLid.ghlContactId && byLid.ghlContactId !== byPhone.ghlContactId
        ? byLid.ghlContactId
        : null,
  };
}

export type Linked =
  | { kind: "none" }
  | { kind: "linked"; contactId: string; ghlContactId: string | null }
  | ({ kind: "merged"; contactId: string; ghlContactId: string | null } & Pick<Merge, "drop" | "leftInGhl">);

/**
 * The phone of a LID became known (a message carrying both, or WhatsApp's mapping): the LID's
 * contact gets the phone (linked), or is merged into the phone's contact. `none`: nothing to
 * link (no LID-only row, or both already one row); the caller's usual upsert then does the rest.
 */
export async function linkLidToPhone(db: Db, locationId: string, lidJid: string, e164: string): Promise<Linked> {
  const lid = normalizeLid(lidJid);
  if (!lid) return { kind: "none" };
  // the common case (already one row, or no LID row) costs one indexed read, no transaction
  const [stray] = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM "Contact" WHERE "locationId" = ${locationId} AND "waLid" = ${lid} AND phone IS DISTINCT FROM ${e164} LIMIT 1`;
  if (!stray) return { kind: "none" };
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<ContactRow[]>`
      SELECT id, phone, "waJid", "waLid", "ghlContactId", "ghlConversationId", "ghlPhone", name, "stickyInstanceId"
      FROM "Contact" WHERE "locationId" = ${locationId} AND (phone = ${e164} OR "waLid" = ${lid})
      ORDER BY id FOR UPDATE`;
    const byLid = rows.find((r) => r.waLid === lid);
    const byPhone = rows.find((r) => r.phone === e164);
    if (!byLid || byLid === byPhone) return { kind: "none" } as const;
    if (byLid.phone) {
      // the LID now goes with another phone (the person changed numbers): it moves, the old row keeps its phone
      await tx.$executeRaw`UPDATE "Contact" SET "waLid" = NULL, "updatedAt" = now() WHERE id = ${byLid.id} AND "locationId" = ${locationId}`;
      if (byPhone)
        await tx.$executeRaw`UPDATE "Contact" SET "waLid" = ${lid}, "updatedAt" = now() WHERE id = ${byPhone.id} AND "locationId" = ${locationId}`;
      return { kind: "none" } as const;
    }
    if (!byPhone) {
      await tx.$executeRaw`
        UPDATE "Contact" SET phone = ${e164}, "waJid" = ${phoneToJid(e164)}, "updatedAt" = now()
        WHERE id = ${byLid.id} AND "locationId" = ${locationId}`;
      return { kind: "linked", contactId: byLid.id, ghlContactId: byLid.ghlContactId } as const;
    }
    const plan = mergePlan(byPhone, byLid, lid);
    const d = plan.data;
    await tx.$executeRaw`UPDATE "Message" SET "contactId" = ${plan.keep} WHERE "contactId" = ${plan.drop} AND "locationId" = ${locationId}`;
    await tx.$executeRaw`DELETE FROM "Contact" WHERE id = ${plan.drop} AND "locationId" = ${locationId}`;
    await tx.$executeRaw`
      UPDATE "Contact" SET phone = ${d.phone}, "waJid" = ${d.waJid}, "waLid" = ${d.waLid}, "ghlContactId" = ${d.ghlContactId},
        "ghlConversationId" = ${d.ghlConversationId}, "ghlPhone" = ${d.ghlPhone}, name = ${d.name},
        "stickyInstanceId" = ${d.stickyInstanceId}, "updatedAt" = now()
      WHERE id = ${plan.keep} AND "locationId" = ${locationId}`;
    return {
      kind: "merged",
      contactId: plan.keep,
      ghlContactId: d.ghlContactId,
      drop: plan.drop,
      leftInGhl: plan.leftInGhl,
    } as const;
  });
}

/**
 * WhatsApp told a companion which phone a LID belongs to (Baileys' `lid-mapping.update`): the
 * LID's contact gets the phone, or is merged, as when a message carries both. Returns the contact
 * whose GHL contact needs the phone (null: nothing changed, or it is not in GHL yet).
 */
export async function learnLidMapping(
  db: Db,
  locationId: string,
  mapping: { lid?: string | null; pn?: string | null },
): Promise<{ contactId: string; phone: string } | null> {
  const pn = /^(\d{7,15})(?::\d+)?@s\.whatsapp\.net$/.exec(String(mapping.pn ?? ""));
  if (!pn || !normalizeLid(mapping.lid)) return null;
  const phone = `+${pn[1]}`;
  const r = await linkLidToPhone(db, locationId, mapping.lid!, phone);
  return r.kind !== "none" && r.ghlContactId ? { contactId: r.contactId, phone } : null;
}
