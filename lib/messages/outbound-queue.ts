import { randomBytes } from "node:crypto";
import type { Db } from "../db";
import { Prisma } from "../generated/prisma/client";
import type { GhlJob } from "../queue/ghl-jobs";
import { type LocationSettings, parseLocationSettings } from "../tenants/settings";

// The outbound message state machine (decision 002): a number's queue is its OUTBOUND Message
// rows in the active statuses, oldest first.
//
//   QUEUED ──(number offline)──> WAITING ──(number online)──┐
//     └────────────────────────────────────────────────────┴─> SENDING (claimed; WhatsApp id fixed)
//   SENDING ──sent──> SENT ──receipts──> DELIVERED ──> READ          (lib/messages/receipts.ts)
//   SENDING ──error, attempts left──> QUEUED
//   SENDING ──over the number's daily allowance──> WAITING until `notBefore` (lib/governor/; GHL: pending)
//   SENDING, or never tried ──routed to another number (lib/routing/)──> QUEUED on that number
//   any active ──error for good / offline too long / no recipient──> FAILED (GHL told)
//
// The worker's send loop (worker/messaging/outbound-sender.ts) calls these and does the pacing
// and the socket calls; every rule about a message's status is here.

/** The statuses of a message still to send: the predicate of the partial index below. */
export const ACTIVE_OUTBOUND = ["QUEUED", "WAITING", "SENDING"] as const;
/**
 * The same list as an SQL literal. Written out, not bound, so that the planner can prove the
 * predicate of "Message_outbound_queue_idx" (a bound parameter would not, in a generic plan);
 * tests/integration/outbound-queue.test.ts checks it against the index as migrated.
 */
export const ACTIVE_SQL = Prisma.raw(`(${ACTIVE_OUTBOUND.map((s) => `'${s}'`).join(", ")})`);
export const OUTBOUND_QUEUE_INDEX = "Message_outbound_queue_idx";

/**
 * Whether the active row `alias` may be sent at `now`: not held by the governor, or its time has
 * come, or it was held as a new chat and the contact has written to the number since (a reply
 * now, which the new-chat allowance never holds; the governor judges it again when claimed).
 */
function sendable(alias: string, now: Date) {
  const a = Prisma.raw(alias);
  return Prisma.sql`(${a}."notBefore" IS NULL OR ${a}."notBefore" <= ${now} OR (${a}."newChat" AND EXISTS (
    SELECT 1 FROM "Message" w WHERE w."instanceId" = ${a}."instanceId" AND w."contactId" = ${a}."contactId" AND w.direction = 'INBOUND')))`;
}

export type QueuedMessage = {
  id: string;
  locationId: string;
  ghlMessageId: string | null;
  waMessageId: string | null;
  type: string;
  text: string | null;
  mediaRef: unknown;
  status: string;
  attempts: number;
  createdAt: Date;
  /** held by the warm-up governor until then (lib/governor/) */
  notBefore: Date | null;
  /** how its number was chosen after acceptance (lib/routing/): null, `named`, `tag`, `around` */
  routedBy: string | null;
  location: { settings: LocationSettings };
  /** `phone` null: a contact known only by its LID (`waJid` is then `<lid>@lid`) */
  contact: { id: string; phone: string | null; waJid: string | null; ghlContactId: string | null } | null;
};
type Row = Omit<QueuedMessage, "location" | "contact"> & {
  settings: unknown;
  contactId: string | null;
  contactPhone: string | null;
  contactWaJid: string | null;
  contactGhlId: string | null;
};

/** Of these numbers, the ones with messages to send now (one query for all a worker drives). */
export async function numbersWithWork(db: Db, instanceIds: string[], now = new Date()): Promise<string[]> {
  if (!instanceIds.length) return [];
  const rows = await db.$queryRaw<{ instanceId: string }[]>`
    SELECT DISTINCT "instanceId" FROM "Message"
    WHERE status IN ${ACTIVE_SQL} AND direction = 'OUTBOUND' AND "instanceId" = ANY(${instanceIds}::text[])
      AND ${sendable('"Message"', now)}`;
  return rows.map((r) => r.instanceId);
}

/**
 * The number's next message with its recipient and the location's settings, in one query (a
 * Prisma `include` is three, and runs the related two even when there is no message).
 */
export async function peekNext(db: Db, instanceId: string): Promise<QueuedMessage | undefined> {
  const [row] = await db.$queryRaw<Row[]>`
    SELECT m.id, m."locationId", m."ghlMessageId", m."waMessageId", m.type, m.text, m."mediaRef", m.status::text AS status,
           m.attempts, m."createdAt", m."notBefore", m."routedBy", l.settings, c.id AS "contactId", c.phone AS "contactPhone", c."waJid" AS "contactWaJid",
           c."ghlContactId" AS "contactGhlId"
    FROM "Message" m
    JOIN "Location" l ON l.id = m."locationId"
    LEFT JOIN "Contact" c ON c.id = m."contactId" AND c."locationId" = m."locationId"
    WHERE m."instanceId" = ${instanceId} AND m.direction = 'OUTBOUND' AND m.status IN ${ACTIVE_SQL}
    ORDER BY m."createdAt" ASC, m.seq ASC
    LIMIT 1`;
  return row ? shape(row) : undefined;
}

/** A WhatsApp message id in the form WhatsApp Web's own client uses. */
export function newWaMessageId(): string {
  return `3EB0${randomBytes(10).toString("hex").toUpperCase()}`;
}

/**
 * For an online number, one statement does what a send needs before the bytes leave: take the
 * next message, mark it SENDING with its WhatsApp id fixed (kept if a retry already has one, so a
 * crash after sending cannot cause a second copy under another id) and one more attempt, return it
 * with its recipient and settings, and say whether more are waiting (so the loop can go idle
 * without one more query). Messages the governor holds until later are passed over, keeping their
 * place for when their time comes.
 */
export async function claimNext(
  db: Db,
  instanceId: string,
  now = new Date(),
): Promise<(QueuedMessage & { more: boolean }) | undefined> {
  const newId = newWaMessageId();
  const [row] = await db.$queryRaw<(Row & { more: boolean })[]>`
    WITH next AS (
      SELECT m.id FROM "Message" m
      WHERE m."instanceId" = ${instanceId} AND m.direction = 'OUTBOUND' AND m.status IN ${ACTIVE_SQL}
        AND ${sendable("m", now)}
      ORDER BY m."createdAt" ASC, m.seq ASC
      LIMIT 1
    ), claimed AS (
      UPDATE "Message" m
      SET status = 'SENDING', "waMessageId" = COALESCE(m."waMessageId", ${newId}), attempts = m.attempts + 1, "updatedAt" = now()
      FROM next WHERE m.id = next.id
      RETURNING m.id, m."locationId", m."contactId", m."ghlMessageId", m."waMessageId", m.type, m.text, m."mediaRef",
                m.status::text AS status, m.attempts, m."createdAt", m."notBefore", m."routedBy"
    )
    SELECT k.id, k."locationId", k."ghlMessageId", k."waMessageId", k.type, k.text, k."mediaRef", k.status, k.attempts, k."createdAt", k."notBefore",
           k."routedBy", l.settings, c.id AS "contactId", c.phone AS "contactPhone", c."waJid" AS "contactWaJid", c."ghlContactId" AS "contactGhlId",
           EXISTS (SELECT 1 FROM "Message" o WHERE o."instanceId" = ${instanceId} AND o.direction = 'OUTBOUND'
                     AND o.status IN ${ACTIVE_SQL} AND o.id <> k.id AND ${sendable("o", now)}) AS more
    FROM claimed k
    JOIN "Location" l ON l.id = k."locationId"
    LEFT JOIN "Contact" c ON c.id = k."contactId" AND c."locationId" = k."locationId"`;
  return row ? { ...shape(row), more: row.more } : undefined;
}

/** The number is offline: its QUEUED messages show as WAITING until it is back. */
export async function markWaiting(db: Db, instanceId: string): Promise<void> {
  await db.message.updateMany({
    where: { instanceId, status: "QUEUED", direction: "OUTBOUND" },
    data: { status: "WAITING" },
  });
}

/**
 * Left on WhatsApp. Conditional: an error ack (FAILED) or a receipt may already have moved it on.
 * `newChat`: it opened a chat, which the governor counts (lib/governor/).
 */
export async function markSent(
  db: Db,
  m: { id: string; locationId: string },
  o: { newChat?: boolean; at?: Date } = {},
): Promise<void> {
  // a receipt or an error ack that came first keeps its status, but the message did go out: it
  // gets its sentAt, which the governor counts
  await db.$executeRaw`
    UPDATE "Message" SET status = CASE WHEN status = 'SENDING' THEN 'SENT'::"MessageStatus" ELSE status END,
      error = CASE WHEN status = 'SENDING' THEN NULL ELSE error END,
      "sentAt" = COALESCE("sentAt", ${o.at ?? new Date()}), "newChat" = ${o.newChat ?? false}, "updatedAt" = now()
    WHERE id = ${m.id} AND "locationId" = ${m.locationId} AND (status = 'SENDING' OR ("sentAt" IS NULL AND status IN ('DELIVERED', 'READ', 'FAILED')))`;
}

/**
 * Over its number's allowance (lib/governor/): not failed, but WAITING until `until` with the reason
 * a person reads in the panel, and GHL told it is pending with that reason. The claim's attempt is
 * given back, since nothing was tried. `asNewChat`: held by the new-chat allowance, so a message
 * from the contact lets it go early (`sendable`).
 */
export async function holdOutbound(
  db: Db,
  notifyGhl: (job: GhlJob) => Promise<unknown>,
  m: { id: string; locationId: string; ghlMessageId: string | null },
  until: Date,
  reason: string,
  asNewChat = false,
): Promise<void> {
  const held = await db.$executeRaw`
    UPDATE "Message" SET status = 'WAITING', "notBefore" = ${until}, error = ${reason}, "newChat" = ${asNewChat},
      attempts = GREATEST(attempts - 1, 0), "updatedAt" = now()
    WHERE id = ${m.id} AND "locationId" = ${m.locationId} AND status = 'SENDING'`;
  if (held && m.ghlMessageId) {
    await notifyGhl({
      kind: "status",
      locationId: m.locationId,
      messageId: m.id,
      ghlMessageId: m.ghlMessageId,
      status: "pending",
      error: reason,
    });
  }
}

/**
 * Messages stranded on a number that is not ONLINE (and has not changed for `graceMs`, so a quick
 * reconnect keeps its own), in a location that routes around trouble, next to one of `online`
 * (numbers this worker drives): never tried, so no copy can have left, and not pinned by their
 * sender (`named`). Oldest first, at most `limit`. No send loop runs for a number that is not
 * ONLINE, so the loops of its siblings look for these (lib/routing/).
 */
export async function strandedMessages(
  db: Db,
  online: string[],
  now: Date,
  graceMs: number,
  limit = 50,
): Promise<(QueuedMessage & { instanceId: string })[]> {
  if (!online.length) return [];
  const quiet = new Date(now.getTime() - graceMs);
  const rows = await db.$queryRaw<(Row & { instanceId: string })[]>`
    SELECT m.id, m."locationId", m."instanceId", m."ghlMessageId", m."waMessageId", m.type, m.text, m."mediaRef", m.status::text AS status,
           m.attempts, m."createdAt", m."notBefore", m."routedBy", l.settings, c.id AS "contactId", c.phone AS "contactPhone", c."waJid" AS "contactWaJid",
           c."ghlContactId" AS "contactGhlId"
    FROM "Message" m
    JOIN "Instance" i ON i.id = m."instanceId" AND i."locationId" = m."locationId"
    JOIN "Location" l ON l.id = m."locationId"
    LEFT JOIN "Contact" c ON c.id = m."contactId" AND c."locationId" = m."locationId"
    WHERE m.direction = 'OUTBOUND' AND m.status IN ${ACTIVE_SQL} AND m.status <> 'SENDING' AND m.attempts = 0
      AND m."routedBy" IS DISTINCT FROM 'named' AND (c."waJid" IS NULL OR c."waJid" NOT LIKE '%@g.us')
      AND i.status <> 'ONLINE' AND i."updatedAt" < ${quiet}
      AND l.settings->'routeAroundTrouble' = 'true'::jsonb
      AND EXISTS (SELECT 1 FROM "Instance" o WHERE o."locationId" = m."locationId" AND o.id = ANY(${online}::text[]) AND o.status = 'ONLINE')
    ORDER BY m."createdAt" ASC, m.seq ASC
    LIMIT ${limit}`;
  return rows.map((r) => ({ ...shape(r), instanceId: r.instanceId }));
}

/**
 * Moves a message to another number of its location (lib/routing/ chose it): QUEUED there, in its
 * place by `createdAt`, any hold and reason cleared, the claim's attempt given back. Only a message
 * of its first attempt moves: one tried before may have reached the phone from this number, and a
 * second copy from another number is what the WhatsApp id fixed before the send exists to prevent.
 * True if it moved.
 */
export async function moveOutbound(
  db: Db,
  m: { id: string; locationId: string },
  from: string,
  to: string,
  routedBy: "tag" | "around",
): Promise<boolean> {
  const moved = await db.$executeRaw`
    UPDATE "Message" SET "instanceId" = ${to}, status = 'QUEUED', "notBefore" = NULL, error = NULL, "newChat" = false, "routedBy" = ${routedBy},
      attempts = 0, "updatedAt" = now()
    WHERE id = ${m.id} AND "locationId" = ${m.locationId} AND "instanceId" = ${from} AND direction = 'OUTBOUND'
      AND ((status = 'SENDING' AND attempts = 1) OR (status IN ('QUEUED', 'WAITING') AND attempts = 0))
      AND EXISTS (SELECT 1 FROM "Instance" i WHERE i.id = ${to} AND i."locationId" = ${m.locationId})`;
  return moved > 0;
}

/** A send that failed and will be tried again (its WhatsApp id kept). */
export async function requeue(db: Db, m: { id: string; locationId: string }, reason: string): Promise<void> {
  await db.message.updateMany({
    where: { id: m.id, locationId: m.locationId },
    data: { status: "QUEUED", error: reason },
  });
}

/** Failed for good: FAILED with its reason, and GHL told when the message came from GHL. */
export async function failOutbound(
  db: Db,
  notifyGhl: (job: GhlJob) => Promise<unknown>,
  m: { id: string; locationId: string; ghlMessageId: string | null },
  reason: string,
): Promise<void> {
  await db.message.updateMany({
    where: { id: m.id, locationId: m.locationId },
    data: { status: "FAILED", error: reason },
  });
  if (m.ghlMessageId) {
    await notifyGhl({
      kind: "status",
      locationId: m.locationId,
      messageId: m.id,
      ghlMessageId: m.ghlMessageId,
      status: "failed",
      error: reason,
    });
  }
}

/** How long a message may wait for its number to come online (location setting, default 60 min). */
export function waitLimitMs(settings: Pick<LocationSettings, "maxWaitMinutes">): number {
  return settings.maxWaitMinutes * 60_000;
}

/** Whether `m` has waited longer than its location allows (counted from when the governor let it go, if it held it). */
export function waitedTooLong(
  m: Pick<QueuedMessage, "createdAt" | "notBefore" | "location">,
  now = Date.now(),
): boolean {
  const from = Math.max(m.createdAt.getTime(), m.notBefore?.getTime() ?? 0);
  return now - from > waitLimitMs(m.location.settings);
}

function shape({ contactId, contactPhone, contactWaJid, contactGhlId, settings, ...m }: Row): QueuedMessage {
  return {
    ...m,
    location: { settings: parseLocationSettings(settings) },
    contact: contactId ? { id: contactId, phone: contactPhone, waJid: contactWaJid, ghlContactId: contactGhlId } : null,
  };
}
