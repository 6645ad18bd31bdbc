import { z } from "zod";
import { WARMUP_PERCENT } from "./allowance";

// The one place the governor reads Location.settings: `warmupPercent` scales the default ramp
// (docs/architecture.md#warm-up-governor). Lenient like the other settings: a bad stored value
// falls back to the default.
const schema = z.object({
  warmupPercent: z.number().int().min(WARMUP_PERCENT.min).max(WARMUP_PERCENT.max).catch(WARMUP_PERCENT.default).default(WARMUP_PERCENT.default),
});

export function warmupPercent(settings: unknown): number {
  return schema.parse(settings && typeof settings === "object" ? settings : {}).warmupPercent;
}
