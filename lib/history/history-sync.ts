import { normalizeLid } from "../contacts/lid-contacts";
import { normalizePhone } from "../contacts/phone";
import type { Db } from "../db";

// What a number's history sync leaves behind besides keys (docs/decisions/020-history-sync-and-import.md):
// the import's row (started by the first history message stored, complete when WhatsApp's RECENT
// sync reaches 100 % or goes quiet), and the contacts' names from push names.

/** A history notification was handled: `stored` new history rows, `complete` when it ended the sync. */
export async function noteHistoryChunk(
  db: Db,
  ctx: { locationId: string; instanceId: string },
  o: { stored: number; complete: boolean; days: number },
): Promise<void> {
  if (o.stored > 0) {
    // a new sync (a relink) starts the import again; what was posted stays posted (unique WhatsApp ids)
    await db.$executeRaw`
      INSERT INTO "HistoryImport" ("instanceId", "locationId", state, days, "lastChunkAt", "startedAt", "updatedAt")
      VALUES (${ctx.instanceId}, ${ctx.locationId}, 'SYNCING', ${o.days}, now(), now(), now())
      ON CONFLICT ("instanceId") DO UPDATE SET
        state = CASE WHEN "HistoryImport".state IN ('DONE', 'CANCELLED') THEN 'SYNCING' ELSE "HistoryImport".state END,
        "startedAt" = CASE WHEN "HistoryImport".state IN ('DONE', 'CANCELLED') THEN now() ELSE "HistoryImport"."startedAt" END,
        "finishedAt" = NULL, days = EXCLUDED.days, "lastChunkAt" = now(), "updatedAt" = now()
      WHERE "HistoryImport"."locationId" = ${ctx.locationId}`;
  }
  if (o.complete) {
    await db.historyImport.updateMany({
      where: { instanceId: ctx.instanceId, locationId: ctx.locationId, state: "SYNCING" },
      data: { state: "IMPORTING" },
    });
  }
}

/**
 * Push names (and chat names) from history: the name of a contact that has none yet, found by
 * phone or LID. A name the contact already has (its own push name from a message) is kept.
 */
export async function applyHistoryNames(
  db: Db,
  locationId: string,
  names: { jid: string; name: string }[],
): Promise<number> {
  let n = 0;
  for (const { jid, name } of names) {
    const clean = name.trim().slice(0, 200);
    if (!clean) continue;
    const lid = jid.endsWith("@lid") ? normalizeLid(jid) : null;
    const phone = jid.endsWith("@s.whatsapp.net") ? safeE164(jid.split("@")[0].split(":")[0]) : null;
    if (!lid && !phone) continue;
    n += await db.$executeRaw`
      UPDATE "Contact" SET name = ${clean}, "updatedAt" = now()
      WHERE "locationId" = ${locationId} AND name IS NULL
        AND (${phone}::text IS NOT NULL AND phone = ${phone}::text OR ${lid}::text IS NOT NULL AND "waLid" = ${lid}::text)`;
  }
  return n;
}

function safeE164(digits: string): string | null {
  try {
    return normalizePhone(`+${digits}`).e164;
  } catch {
    return null;
  }
}
