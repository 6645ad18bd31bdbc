import { z } from "zod";
import { CALLING_CODES } from "../contacts/phone";
import type { Db } from "../db";
import { notFound } from "../errors";
import { WARMUP_PERCENT } from "../governor/allowance";
import { checkedPatch, parseSettings, patchJsonSettings, type SqlRunner } from "../json-settings";
import { tagRoutesSchema } from "../routing/tag-routes";

// The owner of Location.settings (JSON): its one schema, its reader and its one writer
// (docs/decisions/017-json-settings-one-owner.md). Nothing else reads the column's keys or writes
// it. The outgoing webhook's secret is not here: it has its own sealed column (webhookSecretEnc).
export const locationSettingsSchema = z.object({
  /** the number a message goes out on when neither it nor its contact names one */
  defaultInstanceId: z.string().nullable().default(null),
  /** ISO country whose calling code national numbers get */
  defaultCountry: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .nullable()
    .default(null),
  providerMode: z.enum(["sms", "custom"]).default("sms"),
  /** minutes a message may wait for its number to come ONLINE before it fails in GHL */
  maxWaitMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  typingSimulation: z.boolean().default(false),
  /** percent of the warm-up governor's default ramp (read through lib/governor/governor-settings.ts) */
  warmupPercent: z.number().int().min(WARMUP_PERCENT.min).max(WARMUP_PERCENT.max).default(WARMUP_PERCENT.default),
  /**
   * when a message's number is offline, restricted or out of today's allowance, send it from another
   * ONLINE number of the location instead of waiting (lib/routing/); off: it waits
   */
  routeAroundTrouble: z.boolean().default(false),
  /** tag → number: contacts with a GHL tag are written to from that number (lib/routing/tag-routes.ts) */
  tagRoutes: tagRoutesSchema.default([]),
  /** the outgoing webhook (lib/outgoing-webhooks/); admins only, so not in the panel's settings */
  webhookUrl: z.string().nullable().default(null),
});

export type LocationSettings = z.infer<typeof locationSettingsSchema>;

/** Stored settings with defaults; an unknown or bad stored value reads as its default. */
export function parseLocationSettings(raw: unknown): LocationSettings {
  return parseSettings(locationSettingsSchema, raw);
}

export async function readLocationSettings(db: Db, locationId: string): Promise<LocationSettings> {
  const loc = await db.location.findUnique({ where: { id: locationId }, select: { settings: true } });
  return parseLocationSettings(loc?.settings);
}

/**
 * The one writer: merges `patch` into the stored JSON in one statement (concurrent patches of
 * different keys both survive) and returns the settings as now stored.
 */
export async function patchLocationSettings(
  db: SqlRunner,
  locationId: string,
  patch: Partial<LocationSettings>,
): Promise<LocationSettings> {
  const stored = await patchJsonSettings(
    db,
    "location",
    { id: locationId, locationId },
    checkedPatch(locationSettingsSchema, patch),
  );
  if (stored === undefined) throw notFound("location not found");
  return parseLocationSettings(stored);
}

// ---- The panel's view (GET/PATCH /api/panel/settings, open to every user of the location) -----

/** What every user of the location may read: no webhook (admins only, its URL may carry a token). */
export const panelSettingsSchema = locationSettingsSchema.omit({ webhookUrl: true });
export type PanelSettings = z.infer<typeof panelSettingsSchema>;

export function panelSettings(s: LocationSettings): PanelSettings {
  const { webhookUrl: _admins, ...rest } = s;
  return rest;
}

/** What a location's admin can change in the panel. */
export const settingsPatchSchema = z
  .object({
    defaultCountry: z
      .string()
      .toUpperCase()
      .refine((c) => c in CALLING_CODES, "unknown country code")
      .nullable(),
    providerMode: locationSettingsSchema.shape.providerMode.unwrap(),
    maxWaitMinutes: locationSettingsSchema.shape.maxWaitMinutes.unwrap(),
    typingSimulation: z.boolean(),
    /** scales the warm-up governor's default ramp (read by lib/governor/governor-settings.ts) */
    warmupPercent: locationSettingsSchema.shape.warmupPercent.unwrap(),
    /** send from another ONLINE number when the chosen one is in trouble (lib/routing/) */
    routeAroundTrouble: z.boolean(),
  })
  .partial();

export async function updatePanelSettings(
  db: Db,
  locationId: string,
  patch: z.infer<typeof settingsPatchSchema>,
): Promise<PanelSettings> {
  return panelSettings(await patchLocationSettings(db, locationId, patch));
}

export async function readPanelSettings(db: Db, locationId: string): Promise<PanelSettings> {
  return panelSettings(await readLocationSettings(db, locationId));
}
