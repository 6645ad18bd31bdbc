import type { Db } from "../db";
import { dailyAllowance, decide, numberAgeDays, utcDay, type Verdict } from "./allowance";
import { warmupPercent } from "./governor-settings";

// The governor's reads for one claimed message (rules in ./allowance.ts): the number's name and
// age, what it sent today, and whether the message opens a new chat — one query.

export type Governed = { id: string; locationId: string; contactId: string; settings: unknown };

export async function governOutbound(db: Db, instanceId: string, m: Governed, now: Date): Promise<Verdict> {
  const { start, end } = utcDay(now);
  const [row] = await db.$queryRaw<
    { name: string; firstLinkedAt: Date | null; messages: number; newChats: number; newChat: boolean }[]
  >`
    SELECT i.name, i."firstLinkedAt", today.messages, today."newChats",
      NOT EXISTS (
        SELECT 1 FROM "Message" p WHERE p."instanceId" = i.id AND p."contactId" = ${m.contactId} AND p."locationId" = i."locationId" AND p.id <> ${m.id}
          AND (p.direction = 'INBOUND' OR p.source = 'PHONE' OR p."sentAt" IS NOT NULL)
      ) AS "newChat"
    FROM "Instance" i
    CROSS JOIN LATERAL (
      -- today's sends, read once for both counts
      SELECT count(*)::int AS messages, (count(*) FILTER (WHERE s."newChat"))::int AS "newChats"
      FROM "Message" s WHERE s."instanceId" = i.id AND s.direction = 'OUTBOUND' AND s."sentAt" >= ${start} AND s."sentAt" < ${end}
    ) today
    WHERE i.id = ${instanceId} AND i."locationId" = ${m.locationId}`;
  if (!row) return { send: true, newChat: false }; // deleted meanwhile: the send path handles it
  const allowance = dailyAllowance(numberAgeDays(row.firstLinkedAt, now), warmupPercent(m.settings));
  return decide({
    numberName: row.name,
    allowance,
    usage: { messages: row.messages, newChats: row.newChats },
    newChat: row.newChat,
    now,
  });
}

/**
 * The number is ONLINE: the first time (or with another phone than before), this is its first
 * link, the start of its age.
 */
export async function markLinked(
  db: Db,
  instanceId: string,
  locationId: string,
  phone: string | undefined,
  at: Date,
): Promise<void> {
  await db.$executeRaw`
    UPDATE "Instance" SET "firstLinkedAt" = ${at}
    WHERE id = ${instanceId} AND "locationId" = ${locationId}
      AND ("firstLinkedAt" IS NULL OR (${phone ?? null}::text IS NOT NULL AND phone IS NOT NULL AND phone <> ${phone ?? null}::text))`;
}
