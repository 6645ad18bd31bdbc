import type { Redis } from "ioredis";
import { normalizePhone } from "../contacts/phone";
import type { Db } from "../db";
import { AppError, forbidden } from "../errors";
import { Prisma } from "../generated/prisma/client";
import { assertMediaUrlsAcceptable } from "../media/fetch-remote";
import { parseLocationSettings } from "../tenants/settings";
import { publishOutboundQueued } from "./outbound-signal";

// The Delivery URL's domain: store the message durably (the Message row, status QUEUED, is the
// per-number queue the owning worker drains in order) and wake the worker. Idempotent on GHL's
// messageId: a repeated delivery answers the same and never sends twice.

export type OutboundRequest = {
  locationId: string;
  ghlMessageId?: string;
  ghlContactId?: string;
  /** absent: GHL's contact has no phone (a WhatsApp contact known by its LID), found by `ghlContactId` */
  phone?: string;
  text: string;
  attachments: string[];
  source: "GHL" | "API";
  /** direct API: a specific number by name (e.g. wa-01) */
  instanceName?: string;
  type?: "text" | "image" | "video" | "audio" | "document";
  caption?: string;
  /** when the delivery reached us, if earlier than now (a spooled one): its place in the send queue */
  receivedAt?: Date;
  /** origins whose media URLs may name private addresses (MEDIA_URL_ALLOWED_ORIGINS: the sandbox) */
  allowedMediaOrigins?: readonly string[];
};

export type Accepted = { id: string; status: string; duplicate: boolean; instanceId: string | null };

export async function acceptOutbound(db: Db, redis: Redis, r: OutboundRequest): Promise<Accepted> {
  // The Delivery URL's hot path (tests/bench/RESULTS.md): one round trip when the phone is already
  // international (GHL sends E.164). A national number needs the location's default country first,
  // and an empty message must still be answered as a duplicate if its id is known: those read the
  // location (and a message stored under the id) before the write.
  const empty = !r.text.trim() && r.attachments.length === 0;
  // a media URL the worker would refuse to fetch (SSRF guard) is refused now, never queued
  assertMediaUrlsAcceptable(r.attachments, r.allowedMediaOrigins ?? []);
  if (!r.phone && !r.ghlContactId) throw new AppError("unprocessable", "the message has no phone number to send to");
  let e164 = empty || !r.phone ? undefined : international(r.phone);
  if (!e164 && (empty || r.phone)) {
    const [head] = await db.$queryRaw<{ installed: boolean; settings: unknown; dup: DupRow | null }[]>`
      SELECT l.installed, l.settings, (${dupOf(r.ghlMessageId)}) AS dup FROM "Location" l WHERE l.id = ${r.locationId}`;
    if (!head || !head.installed) throw forbidden("this location has not installed the app");
    if (head.dup) return asDuplicate(head.dup, r.locationId);
    if (empty) throw new AppError("unprocessable", "the message has no text and no attachment");
    e164 = normalizePhone(r.phone!, parseLocationSettings(head.settings).defaultCountry).e164;
  }
  const kind = r.type ?? (r.attachments.length ? "media" : "text");
  const media = r.attachments.length ? JSON.stringify({ urls: r.attachments }) : null;

  // One statement: the location (installed?) and a message already stored under GHL's id; unless
  // either stops it, the contact (created or updated by phone; without a phone, the one GHL's
  // contact id is linked to, which WhatsApp knows by its LID), the number that sends — the named one, else
  // the contact's sticky number, else the location's default, else the first by name; with routing
  // around trouble on, ONLINE numbers first in that order — and the
  // message. A messageId stored by a concurrent delivery inserts nothing (ON CONFLICT).
  const contact = e164
    ? Prisma.sql`
      INSERT INTO "Contact" (id, "locationId", phone, "ghlContactId", "ghlPhone", "createdAt", "updatedAt")
      SELECT gen_random_uuid()::text, ${r.locationId}, ${e164}, ${r.ghlContactId ?? null}::text, ${r.ghlContactId ? e164 : null}::text, now(), now() FROM go
      ON CONFLICT ("locationId", phone) DO UPDATE
        SET "ghlContactId" = COALESCE(EXCLUDED."ghlContactId", "Contact"."ghlContactId"),
            -- GHL just said which phone its contact has: when that is the contact kept, GHL has this phone
            "ghlPhone" = CASE WHEN EXCLUDED."ghlContactId" = COALESCE("Contact"."ghlContactId", EXCLUDED."ghlContactId") THEN EXCLUDED.phone ELSE "Contact"."ghlPhone" END,
            "updatedAt" = CASE WHEN EXCLUDED."ghlContactId" IS DISTINCT FROM "Contact"."ghlContactId" AND EXCLUDED."ghlContactId" IS NOT NULL THEN now() ELSE "Contact"."updatedAt" END
      RETURNING id, "stickyInstanceId", "waGroupJid"`
    : Prisma.sql`
      SELECT k.id, k."stickyInstanceId", k."waGroupJid" FROM "Contact" k, go
      WHERE k."locationId" = ${r.locationId} AND k."ghlContactId" = ${r.ghlContactId ?? null}::text
      ORDER BY k."updatedAt" DESC LIMIT 1`;
  const [row] = await db.$queryRaw<
    {
      installed: boolean | null;
      dup: DupRow | null;
      id: string | null;
      status: string | null;
      instanceId: string | null;
      routed: boolean;
      contactFound: boolean;
    }[]
  >`
    WITH l AS (
      SELECT installed,
             CASE WHEN jsonb_typeof(settings->'defaultInstanceId') = 'string' THEN settings->>'defaultInstanceId' END AS "defaultInstanceId",
             COALESCE(settings->'routeAroundTrouble' = 'true'::jsonb, false) AS "routeAround"
      FROM "Location" WHERE id = ${r.locationId}
    ), dup AS (
      SELECT (${dupOf(r.ghlMessageId)}) AS d
    ), go AS (
      SELECT l."defaultInstanceId", l."routeAround" FROM l, dup WHERE l.installed AND dup.d IS NULL
    ), c AS (${contact}
    ), inst AS (
      SELECT i.id FROM "Instance" i, c, go
      WHERE i."locationId" = ${r.locationId} AND (${r.instanceName ?? null}::text IS NULL OR i.name = ${r.instanceName ?? null}::text)
      -- routing around trouble (lib/routing/, a location setting): an ONLINE number before one that is
      -- not; never for a group, which only its member number can write to
      ORDER BY CASE WHEN go."routeAround" AND c."waGroupJid" IS NULL AND i.status <> 'ONLINE' THEN 1 ELSE 0 END,
               CASE WHEN i.id = c."stickyInstanceId" THEN 0 WHEN i.id = go."defaultInstanceId" THEN 1 ELSE 2 END, i.name
      LIMIT 1
    ), m AS (
      INSERT INTO "Message" (id, "locationId", "instanceId", "contactId", direction, source, "ghlMessageId", type, text, "mediaRef", status, error, "routedBy", "createdAt", "updatedAt")
      SELECT gen_random_uuid()::text, ${r.locationId}, (SELECT id FROM inst), c.id, 'OUTBOUND'::"MessageDirection", ${r.source}::"MessageSource",
             ${r.ghlMessageId ?? null}::text, ${kind}, ${r.text || r.caption || null}::text, ${media}::jsonb,
             CASE WHEN EXISTS (SELECT 1 FROM inst) THEN 'QUEUED'::"MessageStatus" ELSE 'FAILED'::"MessageStatus" END,
             CASE WHEN EXISTS (SELECT 1 FROM inst) THEN NULL ELSE ${NO_NUMBER} END,
             -- a number the caller named is never moved to another (lib/routing/)
             ${r.instanceName ? "named" : null}::text,
             COALESCE(${r.receivedAt?.toISOString() ?? null}::timestamptz, now()), now()
      FROM c
      WHERE ${r.instanceName ?? null}::text IS NULL OR EXISTS (SELECT 1 FROM inst)
      ON CONFLICT ("ghlMessageId") DO NOTHING
      RETURNING id, status::text AS status, "instanceId"
    )
    SELECT (SELECT installed FROM l) AS installed, (SELECT d FROM dup) AS dup,
           m.id, m.status, m."instanceId", EXISTS (SELECT 1 FROM inst) AS routed, EXISTS (SELECT 1 FROM c) AS "contactFound"
    FROM (SELECT 1) one LEFT JOIN m ON true`;

  if (!row?.installed) throw forbidden("this location has not installed the app");
  if (row.dup) return asDuplicate(row.dup, r.locationId);
  if (!row.id) {
    if (!e164 && !row.contactFound)
      throw new AppError(
        "unprocessable",
        "the contact has no phone number, and WhatsApp has not written from it to this location",
      );
    if (r.instanceName && !row.routed)
      throw new AppError("not_found", `no number named ${r.instanceName} in this location`);
    // two deliveries of one messageId racing: the loser answers like a duplicate
    const dup = r.ghlMessageId ? await findByGhlId(db, r.locationId, r.ghlMessageId) : null;
    if (dup) return dup;
    throw new Error("the message was not stored");
  }
  if (row.instanceId) await publishOutboundQueued(redis, row.instanceId);
  return { id: row.id, status: row.status!, duplicate: false, instanceId: row.instanceId };
}

/** The phone as E.164 when it needs no default country (international form, 00 prefix, JID). */
function international(phone: string): string | undefined {
  try {
    return normalizePhone(phone, null).e164;
  } catch {
    return undefined; // national form or invalid: the slow path says which, after the tenant checks
  }
}

/** A message already stored under GHL's id, as JSON (ids are global: the tenant is checked after). */
function dupOf(ghlMessageId: string | undefined) {
  return Prisma.sql`SELECT json_build_object('id', m.id, 'status', m.status, 'locationId', m."locationId", 'instanceId', m."instanceId")
    FROM "Message" m WHERE m."ghlMessageId" = ${ghlMessageId ?? null}::text`;
}

const NO_NUMBER = "No WhatsApp number is linked to this location yet";
type DupRow = { id: string; status: string; locationId: string; instanceId: string | null };

function asDuplicate(m: DupRow, locationId: string): Accepted {
  // GHL ids are global; one arriving for another tenant is a forgery or a bug, never a duplicate
  if (m.locationId !== locationId) throw forbidden("this messageId belongs to another location");
  return { id: m.id, status: m.status, duplicate: true, instanceId: m.instanceId };
}

async function findByGhlId(db: Db, locationId: string, ghlMessageId: string): Promise<Accepted | null> {
  const m = await db.message.findUnique({
    where: { ghlMessageId },
    select: { id: true, status: true, locationId: true, instanceId: true },
  });
  return m ? asDuplicate(m, locationId) : null;
}
