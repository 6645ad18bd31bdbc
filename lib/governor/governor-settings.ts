import { parseLocationSettings } from "../tenants/settings";

// The one place the governor reads Location.settings: `warmupPercent` (25..200, default 100)
// scales the default ramp (docs/architecture.md#warm-up-governor). Lenient like the other
// settings: a bad stored value falls back to the default.
export function warmupPercent(settings: unknown): number {
  return parseLocationSettings(settings).warmupPercent;
}
