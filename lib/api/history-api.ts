import { z } from "zod";
import type { Db } from "../db";
import { cancelImport, historyProgressSchema, importProgress } from "../history/history-import";
import { HISTORY_IMPORT_MAX_DAYS, patchInstanceSettings, readInstanceSettings } from "../instances/instance-settings";
import { get } from "../instances/instances";

// A number's import of past conversations, for the panel and the API: the setting (off, or the
// last N days) and the progress (docs/decisions/020-history-sync-and-import.md).

export const historyImportViewSchema = z.object({
  /** messages of the last `days` days are imported when the number is linked; 0 = off */
  days: z.number().int(),
  progress: historyProgressSchema.nullable().describe("The number's import, if it had one"),
});
export type HistoryImportView = z.infer<typeof historyImportViewSchema>;

export const historyImportPatchSchema = z.object({
  days: z
    .number()
    .int()
    .min(0)
    .max(HISTORY_IMPORT_MAX_DAYS)
    .describe("Import the last N days of conversations when the number is linked (0: off)"),
});

export async function historyImportView(db: Db, locationId: string, instanceId: string): Promise<HistoryImportView> {
  await get(db, locationId, instanceId); // 404 for another location's number
  const [settings, progress] = await Promise.all([
    readInstanceSettings(db, locationId, instanceId),
    importProgress(db, locationId, [instanceId]),
  ]);
  return { days: settings.historyImportDays, progress: progress.get(instanceId) ?? null };
}

export async function setHistoryImportDays(
  db: Db,
  locationId: string,
  instanceId: string,
  days: number,
): Promise<HistoryImportView> {
  await patchInstanceSettings(db, locationId, instanceId, { historyImportDays: days });
  return historyImportView(db, locationId, instanceId);
}

/** Cancels the running import (nothing more is posted); a number with none running is left as it is. */
export async function cancelHistoryImport(
  db: Db,
  locationId: string,
  instanceId: string,
): Promise<HistoryImportView & { cancelled: boolean }> {
  await get(db, locationId, instanceId);
  const cancelled = await cancelImport(db, locationId, instanceId);
  return { ...(await historyImportView(db, locationId, instanceId)), cancelled };
}

/** The progress of each listed number's import, for the instances list (one query for all). */
export async function withHistoryProgress<T extends { id: string }>(
  db: Db,
  locationId: string,
  views: T[],
): Promise<(T & { historyImport: z.infer<typeof historyProgressSchema> | null })[]> {
  const p = await importProgress(
    db,
    locationId,
    views.map((v) => v.id),
  );
  return views.map((v) => ({ ...v, historyImport: p.get(v.id) ?? null }));
}
