import { z } from "zod";
import type { Db } from "../db";

// The import of a number's past conversations into GHL (docs/decisions/020-history-sync-and-import.md).
// Its queue and its progress are the number's history rows (`Message.history`): RECEIVED ones are
// still to post, any other status is done (SYNCED posted, FAILED given up or cancelled). So a
// restart resumes where the last post landed, and nothing is posted twice by the import.

export const historyImportStateSchema = z.enum(["SYNCING", "IMPORTING", "DONE", "CANCELLED"]);

export const historyProgressSchema = z.object({
  state: historyImportStateSchema,
  days: z.number().int(),
  chats: z.object({ done: z.number().int(), total: z.number().int() }),
  messages: z.object({ done: z.number().int(), total: z.number().int() }),
  /** messages done of total, 0–100 (100 when there is nothing to import) */
  percent: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type HistoryProgress = z.infer<typeof historyProgressSchema>;

export type ImportRef = { instanceId: string; locationId: string };

/** Imports to work on: IMPORTING ones, and SYNCING ones quiet for `quietMs` (the sync is over). */
export async function dueImports(db: Db, quietMs: number): Promise<ImportRef[]> {
  await db.historyImport.updateMany({
    where: { state: "SYNCING", lastChunkAt: { lt: new Date(Date.now() - quietMs) } },
    data: { state: "IMPORTING" },
  });
  return db.historyImport.findMany({
    where: { state: "IMPORTING" },
    orderBy: { startedAt: "asc" },
    take: 100,
    select: { instanceId: true, locationId: true },
  });
}

/** The next history rows to post: chat by chat, each chat's in its own order (WhatsApp time, then arrival). */
export async function nextHistoryRows(db: Db, imp: ImportRef, limit: number): Promise<{ id: string }[]> {
  return db.message.findMany({
    where: { instanceId: imp.instanceId, locationId: imp.locationId, history: true, status: "RECEIVED" },
    orderBy: [{ contactId: "asc" }, { createdAt: "asc" }, { seq: "asc" }],
    take: limit,
    select: { id: true },
  });
}

export async function importState(db: Db, imp: ImportRef): Promise<z.infer<typeof historyImportStateSchema> | null> {
  const r = await db.historyImport.findFirst({ where: imp, select: { state: true } });
  return r ? historyImportStateSchema.parse(r.state) : null;
}

/** Nothing left to post: the import is DONE. */
export async function finishImport(db: Db, imp: ImportRef): Promise<void> {
  await db.historyImport.updateMany({
    where: { ...imp, state: "IMPORTING" },
    data: { state: "DONE", finishedAt: new Date() },
  });
}

/** Stops the number's import: what is not posted yet never will be (kept as FAILED, "cancelled"). */
export async function cancelImport(db: Db, locationId: string, instanceId: string): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const n = await tx.historyImport.updateMany({
      where: { instanceId, locationId, state: { in: ["SYNCING", "IMPORTING"] } },
      data: { state: "CANCELLED", finishedAt: new Date() },
    });
    if (n.count === 0) return false;
    await tx.message.updateMany({
      where: { instanceId, locationId, history: true, status: "RECEIVED" },
      data: { status: "FAILED", error: "Not posted to GHL: the history import was cancelled" },
    });
    return true;
  });
}

/** Progress of the numbers' imports (absent: the number never had one). */
export async function importProgress(
  db: Db,
  locationId: string,
  instanceIds: string[],
): Promise<Map<string, HistoryProgress>> {
  const out = new Map<string, HistoryProgress>();
  if (!instanceIds.length) return out;
  const imports = await db.historyImport.findMany({ where: { locationId, instanceId: { in: instanceIds } } });
  if (!imports.length) return out;
  const counts = await db.$queryRaw<
    { instanceId: string; total: number; done: number; chats: number; chatsOpen: number }[]
  >`
    SELECT "instanceId", count(*)::int AS total, count(*) FILTER (WHERE status <> 'RECEIVED')::int AS done,
           count(DISTINCT "contactId")::int AS chats, count(DISTINCT "contactId") FILTER (WHERE status = 'RECEIVED')::int AS "chatsOpen"
    FROM "Message"
    WHERE "locationId" = ${locationId} AND "instanceId" = ANY(${imports.map((i) => i.instanceId)}) AND history
    GROUP BY "instanceId"`;
  for (const i of imports) {
    const c = counts.find((x) => x.instanceId === i.instanceId) ?? { total: 0, done: 0, chats: 0, chatsOpen: 0 };
    out.set(i.instanceId, {
      state: historyImportStateSchema.parse(i.state),
      days: i.days,
      chats: { done: c.chats - c.chatsOpen, total: c.chats },
      messages: { done: c.done, total: c.total },
      percent: c.total ? Math.floor((100 * c.done) / c.total) : 100,
      startedAt: i.startedAt.toISOString(),
      finishedAt: i.finishedAt?.toISOString() ?? null,
    });
  }
  return out;
}
