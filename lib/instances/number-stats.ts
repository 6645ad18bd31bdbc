import { z } from "zod";
import type { Db } from "../db";
import { dailyAllowance, numberAgeDays, utcDay } from "../governor/allowance";
import { warmupPercent } from "../governor/governor-settings";

// Each number's day at a glance, for the panel and `GET /api/instances`: sent, received and failed
// today (the UTC day, as the governor counts: docs/architecture.md#warm-up-governor), how much of
// today's allowance is used, and when it last sent or received anything. One query for the whole
// location, scoped to it; the allowance is the governor's own rule (lib/governor/allowance.ts).

export const numberStatsSchema = z.object({
  sentToday: z.number().int(),
  receivedToday: z.number().int(),
  failedToday: z.number().int(),
  allowance: z.object({
    newChats: z.object({ used: z.number().int(), limit: z.number().int() }),
    messages: z.object({ used: z.number().int(), limit: z.number().int() }),
  }),
  lastActivityAt: z.string().nullable(),
});
export type NumberStats = z.infer<typeof numberStatsSchema>;

type Row = {
  id: string;
  firstLinkedAt: Date | null;
  settings: unknown;
  sent: number;
  newChats: number;
  received: number;
  failed: number;
  lastSent: Date | null;
  lastReceived: Date | null;
};

export async function numberStats(db: Db, locationId: string, now = new Date()): Promise<Map<string, NumberStats>> {
  const { start, end } = utcDay(now);
  const rows = await db.$queryRaw<Row[]>`
    SELECT i.id, i."firstLinkedAt", l.settings,
      COALESCE(t.sent, 0)::int AS sent, COALESCE(t."newChats", 0)::int AS "newChats",
      COALESCE(t.received, 0)::int AS received, COALESCE(t.failed, 0)::int AS failed,
      (SELECT max(s."sentAt") FROM "Message" s WHERE s."instanceId" = i.id AND s."locationId" = ${locationId}) AS "lastSent",
      (SELECT max(r."createdAt") FROM "Message" r WHERE r."instanceId" = i.id AND r."locationId" = ${locationId} AND r.direction = 'INBOUND') AS "lastReceived"
    FROM "Instance" i
    JOIN "Location" l ON l.id = i."locationId"
    LEFT JOIN (
      SELECT m."instanceId",
        count(*) FILTER (WHERE m.direction = 'OUTBOUND' AND m."sentAt" >= ${start} AND m."sentAt" < ${end}) AS sent,
        count(*) FILTER (WHERE m.direction = 'OUTBOUND' AND m."newChat" AND m."sentAt" >= ${start} AND m."sentAt" < ${end}) AS "newChats",
        count(*) FILTER (WHERE m.direction = 'INBOUND' AND m."createdAt" >= ${start} AND m."createdAt" < ${end}) AS received,
        count(*) FILTER (WHERE m.status = 'FAILED' AND m."updatedAt" >= ${start} AND m."updatedAt" < ${end}) AS failed
      FROM "Message" m
      WHERE m."locationId" = ${locationId} AND (m."createdAt" >= ${start} OR m."sentAt" >= ${start} OR m."updatedAt" >= ${start})
      GROUP BY m."instanceId"
    ) t ON t."instanceId" = i.id
    WHERE i."locationId" = ${locationId}`;
  const out = new Map<string, NumberStats>();
  for (const r of rows) {
    const limit = dailyAllowance(numberAgeDays(r.firstLinkedAt, now), warmupPercent(r.settings));
    const last = [r.lastSent, r.lastReceived]
      .filter((d): d is Date => !!d)
      .sort((a, b) => b.getTime() - a.getTime())[0];
    out.set(r.id, {
      sentToday: r.sent,
      receivedToday: r.received,
      failedToday: r.failed,
      allowance: {
        newChats: { used: r.newChats, limit: limit.newChats },
        messages: { used: r.sent, limit: limit.messages },
      },
      lastActivityAt: last ? last.toISOString() : null,
    });
  }
  return out;
}
