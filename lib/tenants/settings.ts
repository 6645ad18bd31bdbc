import { z } from "zod";
import { WARMUP_PERCENT } from "../governor/allowance";

// Per-location settings kept in Location.settings (JSON). Parsed leniently: an unknown or bad
// stored value falls back to the default instead of breaking the tenant.
export const locationSettingsSchema = z.object({
  defaultInstanceId: z.string().nullable().catch(null).default(null),
  defaultCountry: z.string().regex(/^[A-Z]{2}$/).nullable().catch(null).default(null),
  providerMode: z.enum(["sms", "custom"]).catch("sms").default("sms"),
  /** minutes a message may wait for its number to come ONLINE before it fails in GHL */
  maxWaitMinutes: z.number().int().min(1).max(7 * 24 * 60).catch(60).default(60),
  typingSimulation: z.boolean().catch(false).default(false),
  /** percent of the warm-up governor's default ramp (read through lib/governor/governor-settings.ts) */
  warmupPercent: z.number().int().min(WARMUP_PERCENT.min).max(WARMUP_PERCENT.max).catch(WARMUP_PERCENT.default).default(WARMUP_PERCENT.default),
});

export type LocationSettings = z.infer<typeof locationSettingsSchema>;

export function parseLocationSettings(raw: unknown): LocationSettings {
  return locationSettingsSchema.parse(raw && typeof raw === "object" ? raw : {});
}
