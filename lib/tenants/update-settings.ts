import { z } from "zod";
import type { Db } from "../db";
import { CALLING_CODES } from "../contacts/phone";
import { notFound } from "../errors";
import { WARMUP_PERCENT } from "../governor/allowance";
import { parseLocationSettings } from "./settings";

// What a location's admin can change in the panel; everything else in settings is kept as is.
export const settingsPatchSchema = z
  .object({
    defaultCountry: z.string().toUpperCase().refine((c) => c in CALLING_CODES, "unknown country code").nullable(),
    providerMode: z.enum(["sms", "custom"]),
    maxWaitMinutes: z.number().int().min(1).max(7 * 24 * 60),
    typingSimulation: z.boolean(),
    /** scales the warm-up governor's default ramp (read by lib/governor/governor-settings.ts) */
    warmupPercent: z.number().int().min(WARMUP_PERCENT.min).max(WARMUP_PERCENT.max),
  })
  .partial();

export async function updateLocationSettings(db: Db, locationId: string, patch: z.infer<typeof settingsPatchSchema>) {
  const loc = await db.location.findUnique({ where: { id: locationId }, select: { settings: true } });
  if (!loc) throw notFound("location not found");
  const merged = { ...((loc.settings as Record<string, unknown>) ?? {}), ...patch };
  await db.location.update({ where: { id: locationId }, data: { settings: merged } });
  return parseLocationSettings(merged);
}
