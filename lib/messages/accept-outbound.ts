import type { Redis } from "ioredis";
import { retryOnConflict, type Db } from "../db";
import { AppError, forbidden } from "../errors";
import { normalizePhone } from "../contacts/phone";
import { parseLocationSettings } from "../tenants/settings";
import { publishOutboundQueued } from "./outbound-signal";

// The Delivery URL's domain: store the message durably (the Message row, status QUEUED, is the
// per-number queue the owning worker drains in order) and wake the worker. Idempotent on GHL's
// messageId: a repeated delivery answers the same and never sends twice.

export type OutboundRequest = {
  locationId: string;
  ghlMessageId?: string;
  ghlContactId?: string;
  phone: string;
  text: string;
  attachments: string[];
  source: "GHL" | "API";
  /** direct API: a specific number by name (e.g. wa-01) */
  instanceName?: string;
  type?: "text" | "image" | "video" | "audio" | "document";
  caption?: string;
};

export type Accepted = { id: string; status: string; duplicate: boolean; instanceId: string | null };

export async function acceptOutbound(db: Db, redis: Redis, r: OutboundRequest): Promise<Accepted> {
  const location = await db.location.findUnique({ where: { id: r.locationId }, select: { installed: true, settings: true } });
  if (!location || !location.installed) throw forbidden("this location has not installed the app");
  if (r.ghlMessageId) {
    const dup = await findByGhlId(db, r.locationId, r.ghlMessageId);
    if (dup) return dup;
  }
  if (!r.text.trim() && r.attachments.length === 0) throw new AppError("unprocessable", "the message has no text and no attachment", 422);
  const settings = parseLocationSettings(location.settings);
  const { e164 } = normalizePhone(r.phone, settings.defaultCountry);

  // two deliveries for one new contact at once: the second creates nothing (retryOnConflict)
  const contact = await retryOnConflict(() =>
    db.contact.upsert({
      where: { locationId_phone: { locationId: r.locationId, phone: e164 } },
      create: { locationId: r.locationId, phone: e164, ghlContactId: r.ghlContactId },
      update: r.ghlContactId ? { ghlContactId: r.ghlContactId } : {},
    }),
  );
  const instanceId = await route(db, r.locationId, contact.stickyInstanceId, settings.defaultInstanceId, r.instanceName);
  const kind = r.type ?? (r.attachments.length ? "media" : "text");

  try {
    const row = await db.message.create({
      data: {
        locationId: r.locationId,
        instanceId,
        contactId: contact.id,
        direction: "OUTBOUND",
        source: r.source,
        ghlMessageId: r.ghlMessageId,
        type: kind,
        text: r.text || r.caption || null,
        mediaRef: r.attachments.length ? { urls: r.attachments } : undefined,
        status: instanceId ? "QUEUED" : "FAILED",
        error: instanceId ? null : "No WhatsApp number is linked to this location yet",
      },
    });
    if (instanceId) await publishOutboundQueued(redis, instanceId);
    return { id: row.id, status: row.status, duplicate: false, instanceId };
  } catch (e) {
    // two deliveries of one messageId racing: the loser answers like a duplicate
    if (r.ghlMessageId && (e as { code?: string }).code === "P2002") {
      const dup = await findByGhlId(db, r.locationId, r.ghlMessageId);
      if (dup) return dup;
    }
    throw e;
  }
}

async function findByGhlId(db: Db, locationId: string, ghlMessageId: string): Promise<Accepted | null> {
  const m = await db.message.findUnique({ where: { ghlMessageId }, select: { id: true, status: true, locationId: true, instanceId: true } });
  if (!m) return null;
  // GHL ids are global; one arriving for another tenant is a forgery or a bug, never a duplicate
  if (m.locationId !== locationId) throw forbidden("this messageId belongs to another location");
  return { id: m.id, status: m.status, duplicate: true, instanceId: m.instanceId };
}

/** Which number sends: named one, else the contact's sticky number, else the default, else the first. */
async function route(db: Db, locationId: string, sticky: string | null, defaultId: string | null, name?: string): Promise<string | null> {
  if (name) {
    const byName = await db.instance.findUnique({ where: { locationId_name: { locationId, name } }, select: { id: true } });
    if (!byName) throw new AppError("not_found", `no number named ${name} in this location`, 404);
    return byName.id;
  }
  for (const id of [sticky, defaultId]) {
    if (!id) continue;
    const ok = await db.instance.findFirst({ where: { id, locationId }, select: { id: true } });
    if (ok) return ok.id;
  }
  const first = await db.instance.findFirst({ where: { locationId }, orderBy: { name: "asc" }, select: { id: true } });
  return first?.id ?? null;
}
