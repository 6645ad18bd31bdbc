import type { GhlSimulatorConfig } from "./config";
import type { SimState } from "./state";

const DAY_MS = 24 * 3600 * 1000;

// GHL counts per app per resource (location or company): 100 per 10 s burst, 200k per day.
export function takeToken(
  state: SimState,
  cfg: GhlSimulatorConfig,
  key: string,
): { allowed: boolean; headers: Record<string, string> } {
  const now = Date.now();
  const { max, intervalMs, daily } = cfg.rateLimit;
  let b = state.rate.get(key);
  if (!b) {
    b = { window: [], day: 0, dayStart: now };
    state.rate.set(key, b);
  }
  b.window = b.window.filter((t) => t > now - intervalMs);
  if (now - b.dayStart >= DAY_MS) {
    b.day = 0;
    b.dayStart = now;
  }
  const allowed = b.window.length < max && b.day < daily;
  if (allowed) {
    b.window.push(now);
    b.day++;
  }
  return {
    allowed,
    headers: {
      "X-RateLimit-Max": String(max),
      "X-RateLimit-Remaining": String(Math.max(0, max - b.window.length)),
      "X-RateLimit-Interval-Milliseconds": String(intervalMs),
      "X-RateLimit-Limit-Daily": String(daily),
      "X-RateLimit-Daily-Remaining": String(Math.max(0, daily - b.day)),
    },
  };
}
