import { z } from "zod";
import type { Db } from "../db";
import { notFound } from "../errors";
import { checkedPatch, parseSettings, patchJsonSettings, type SqlRunner } from "../json-settings";

// The owner of Instance.settings (JSON), per-number options: its one schema, reader and writer
// (docs/decisions/017-json-settings-one-owner.md).

/** The longest import window a number may ask for (WhatsApp's RECENT sync covers months at most). */
export const HISTORY_IMPORT_MAX_DAYS = 365;
export const instanceSettingsSchema = z.object({
  /**
   * WhatsApp groups are relayed: one GHL conversation per group, and what GHL writes there goes
   * to the group (off: group messages are ignored; docs/decisions/021-groups-as-ghl-contacts.md)
   */
  groups: z.boolean().default(false),
  /**
   * past conversations brought by WhatsApp's history sync are imported into GHL: those of the
   * last this many days (0: none, only names, LID mappings and privacy tokens are kept)
   */
  historyImportDays: z.number().int().min(0).max(HISTORY_IMPORT_MAX_DAYS).default(30),
});

/** What the panel and the API may change (PATCH /api/instances/:id/settings): any subset of the keys. */
export const instanceSettingsPatchSchema = z.strictObject({
  groups: z.boolean().optional().describe("Relay this number's WhatsApp groups to GHL (one conversation per group)"),
});

export type InstanceSettings = z.infer<typeof instanceSettingsSchema>;

export function parseInstanceSettings(raw: unknown): InstanceSettings {
  return parseSettings(instanceSettingsSchema, raw);
}

/** The number's settings, or the defaults when no such number is in this location. */
export async function readInstanceSettings(db: Db, locationId: string, instanceId: string): Promise<InstanceSettings> {
  const i = await db.instance.findFirst({ where: { id: instanceId, locationId }, select: { settings: true } });
  return parseInstanceSettings(i?.settings);
}

/** A validated patch from outside, its absent keys left out (so they keep their stored value). */
export async function updateInstanceSettings(
  db: SqlRunner,
  locationId: string,
  instanceId: string,
  patch: z.infer<typeof instanceSettingsPatchSchema>,
): Promise<InstanceSettings> {
  const given = Object.fromEntries(
    Object.entries(patch).filter(([, v]) => v !== undefined),
  ) as Partial<InstanceSettings>;
  if (Object.keys(given).length === 0) {
    const [row] = await db.$queryRaw<
      { settings: unknown }[]
    >`SELECT settings FROM "Instance" WHERE id = ${instanceId} AND "locationId" = ${locationId}`;
    if (!row) throw notFound("instance not found");
    return parseInstanceSettings(row.settings);
  }
  return patchInstanceSettings(db, locationId, instanceId, given);
}

/** The one writer: merges `patch` in one statement (concurrent patches of different keys both survive). */
export async function patchInstanceSettings(
  db: SqlRunner,
  locationId: string,
  instanceId: string,
  patch: Partial<InstanceSettings>,
): Promise<InstanceSettings> {
  const stored = await patchJsonSettings(
    db,
    "instance",
    { id: instanceId, locationId },
    checkedPatch(instanceSettingsSchema, patch),
  );
  if (stored === undefined) throw notFound("instance not found");
  return parseInstanceSettings(stored);
}
