import type { Db } from "../db";

// What a number went through that its health is judged from (./health-rules.ts): one row per
// event in "NumberEvent", written by the worker where the event happens (the receipts, the
// session's status writer), read in windows by ./number-health.ts.

export type NumberEventKind = "error_ack" | "reconnect" | "logout" | "banned";
// (kind `health` rows, the last state judged, are written by ./health-change.ts)

export async function recordNumberEvent(db: Db, e: { locationId: string; instanceId: string; kind: NumberEventKind; code?: string | null; at?: Date }): Promise<void> {
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
