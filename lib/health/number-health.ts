import type { Db } from "../db";
import { dailyAllowance, numberAgeDays, utcDay } from "../governor/allowance";
import { warmupPercent } from "../governor/governor-settings";
import { assessHealth, type Health } from "./health-rules";

// The reads behind a number's health (rules in ./health-rules.ts): its events of the last days
// ("NumberEvent", by `(instanceId, at)`), its new chats and their answers, today's use of the
// governor's allowance. One query for all of a location's numbers (GET /api/instances) or one.

const DAY_MS = 24 * 60 * 60 * 1000;

export type NumberHealth = Health & { instanceId: string; numberName: string };

type Row = {
  id: string;
  name: string;
  status: string;
  firstLinkedAt: Date | null;
  settings: unknown;
  acks463: Date[] | null;
  otherAcks: number;
  reconnects: number;
  lastLogoutAt: Date | null;
  newChats7d: number;
  answered7d: number;
  newChatsToday: number;
};

/** The health of the location's numbers (or of the one `instanceId`), by instance id. */
export async function healthOfNumbers(
  db: Db,
  locationId: string,
  now: Date,
  instanceId?: string,
): Promise<Map<string, NumberHealth>> {
  const { start, end } = utcDay(now);
  const d1 = new Date(now.getTime() - DAY_MS);
  const d2 = new Date(now.getTime() - 2 * DAY_MS);
  const d7 = new Date(now.getTime() - 7 * DAY_MS);
  const rows = await db.$queryRaw<Row[]>`
    SELECT i.id, i.name, i.status::text AS status, i."firstLinkedAt", l.settings,
      ev."acks463", ev."otherAcks", ev.reconnects, ev."lastLogoutAt",
      chats."newChats7d", chats."answered7d", chats."newChatsToday"
    FROM "Instance" i
    JOIN "Location" l ON l.id = i."locationId"
    CROSS JOIN LATERAL (
      SELECT array_agg(e.at) FILTER (WHERE e.kind = 'error_ack' AND e.code = '463' AND e.at > ${d2}) AS "acks463",
             (count(*) FILTER (WHERE e.kind = 'error_ack' AND e.code IS DISTINCT FROM '463' AND e.at > ${d1}))::int AS "otherAcks",
             (count(*) FILTER (WHERE e.kind = 'reconnect' AND e.at > ${d1}))::int AS reconnects,
             max(e.at) FILTER (WHERE e.kind IN ('logout', 'banned')) AS "lastLogoutAt"
      FROM "NumberEvent" e WHERE e."instanceId" = i.id AND e."locationId" = i."locationId" AND e.at > ${d7} AND e.at <= ${now}
    ) ev
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS "newChats7d",
             (count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM "Message" r WHERE r."instanceId" = i.id AND r."contactId" = s."contactId" AND r.direction = 'INBOUND' AND r."createdAt" > s."sentAt"
             )))::int AS "answered7d",
             (count(*) FILTER (WHERE s."sentAt" >= ${start} AND s."sentAt" < ${end}))::int AS "newChatsToday"
      FROM "Message" s
      WHERE s."instanceId" = i.id AND s.direction = 'OUTBOUND' AND s."newChat" AND s."sentAt" > ${d7} AND s."sentAt" <= ${now}
    ) chats
    WHERE i."locationId" = ${locationId} AND (${instanceId ?? null}::text IS NULL OR i.id = ${instanceId ?? null}::text)`;
  const out = new Map<string, NumberHealth>();
  for (const r of rows) {
    const allowance = dailyAllowance(numberAgeDays(r.firstLinkedAt, now), warmupPercent(r.settings));
    const h = assessHealth(
      {
        numberName: r.name,
        status: r.status,
        acks463: r.acks463 ?? [],
        otherAcks24h: r.otherAcks,
        reconnects24h: r.reconnects,
        lastLogoutAt: r.lastLogoutAt,
        newChats7d: r.newChats7d,
        answered7d: r.answered7d,
        newChatsToday: r.newChatsToday,
        newChatAllowance: allowance.newChats,
      },
      now,
    );
    out.set(r.id, { ...h, instanceId: r.id, numberName: r.name });
  }
  return out;
}

/** One number's health; a number not found (deleted meanwhile) reads as healthy. */
export async function healthOfNumber(db: Db, locationId: string, instanceId: string, now: Date): Promise<NumberHealth> {
  return (
    (await healthOfNumbers(db, locationId, now, instanceId)).get(instanceId) ?? {
      state: "healthy",
      reasons: [],
      restrictedUntil: null,
      cause: null,
      instanceId,
      numberName: "",
    }
  );
}
