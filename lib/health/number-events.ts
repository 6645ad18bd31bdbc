import type { Db } from "../db";

// What a number went through that its health is judged from (./health-rules.ts): one row per
// event in "NumberEvent", written by the worker where the event happens (the receipts, the
// session's status writer), read in windows by ./number-health.ts.

export type NumberEventKind = "error_ack" | "reconnect" | "logout" | "banned";
// (kind `health` rows, the last state judged, are written by ./health-change.ts)

export async function recordNumberEvent(
  db: Db,
  e: { locationId: string; instanceId: string; kind: NumberEventKind; code?: string | null; at?: Date },
): Promise<void> {
  // the instance may have been deleted meanwhile: then there is nothing to judge, and no row
  await db.$executeRaw`
    INSERT INTO "NumberEvent" (id, "locationId", "instanceId", kind, code, at)
    SELECT gen_random_uuid()::text, i."locationId", i.id, ${e.kind}, ${e.code ?? null}::text, ${e.at ?? new Date()}
    FROM "Instance" i WHERE i.id = ${e.instanceId} AND i."locationId" = ${e.locationId}`;
}

/**
 * The event a status change of the number's session is for its health: a reconnect (after a
 * close WhatsApp or the network caused), a logout that came from WhatsApp or the phone (a person's
 * own logout in the panel has no error and is no sign of trouble), a ban. Others are none.
 */
export function healthEventOfStatus(status: string, lastError: string | null | undefined): NumberEventKind | undefined {
  if (status === "RECONNECTING" || status === "FAILED") return "reconnect";
  if (status === "LOGGED_OUT" && lastError) return "logout";
  if (status === "BANNED") return "banned";
  return undefined;
}

/** How long events are kept: the rules look back 7 days at most. */
export const NUMBER_EVENTS_KEEP_MS = 14 * 24 * 60 * 60 * 1000;

/**
 * Deletes events older than the keep, in batches (housekeeping). The `health` rows stay: each is
 * a number's last judged state, and without it an old change would be told again.
 */
export async function purgeNumberEvents(
  db: Db,
  now = new Date(),
  o: { batch?: number; maxBatches?: number } = {},
): Promise<number> {
  const before = new Date(now.getTime() - NUMBER_EVENTS_KEEP_MS);
  const batch = o.batch ?? 1000;
  let total = 0;
  for (let i = 0; i < (o.maxBatches ?? 100); i++) {
    const n = await db.$executeRaw`
      DELETE FROM "NumberEvent" WHERE id IN (SELECT id FROM "NumberEvent" WHERE at < ${before} AND kind <> 'health' ORDER BY at LIMIT ${batch})`;
    total += n;
    if (n < batch) break;
  }
  return total;
}
