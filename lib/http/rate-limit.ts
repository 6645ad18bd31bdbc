import type { Redis } from "ioredis";
import { logger } from "../log";
import { redisScript } from "../redis-script";

// Rate limits kept in Redis, so that every app process counts against the same budget. Each limit
// is "at most `limit` requests in any `windowMs`", enforced as GCRA (a token bucket with one
// timestamp per key): a bucket refills at limit/window, holds at most `limit`, and costs one
// Redis key per bucket. Several limits are taken together in one script run (atomic): a request is
// counted against all of them or none, so one refused by its location's limit does not also use up
// its key's budget. Redis's own clock is used, so app processes' clocks do not matter.

export type Limit = { key: string; limit: number; windowMs: number };
export type Taken = { ok: true } | { ok: false; retryAfterMs: number; limit: Limit };

// KEYS: one bucket per limit. ARGV: limit_i, windowMs_i for each key. Each bucket stores its
// "theoretical arrival time" (tat, ms): the moment it would be full again.
// Returns {1} when taken, or {0, retryAfterMs, index of the limit that refused (1-based)}.
const GCRA = redisScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tats = {}
local wait, which = 0, 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call("GET", KEYS[i]) or "0") or 0
  if tat < now then tat = now end
  local nextTat = tat + window / limit
  local allowAt = nextTat - window
  if allowAt > now and allowAt - now > wait then
    wait = allowAt - now
    which = i
  end
  tats[i] = nextTat
end
if wait > 0 then return {0, math.ceil(wait), which} end
for i = 1, #KEYS do
  redis.call("SET", KEYS[i], string.format("%.3f", tats[i]), "PX", math.max(1, math.ceil(tats[i] - now)))
end
return {1}
`);

/** Takes one request from every limit, or from none; limits of 0 are off. */
export async function take(redis: Redis, limits: Limit[]): Promise<Taken> {
  const on = limits.filter((l) => l.limit > 0 && l.windowMs > 0);
  if (on.length === 0) return { ok: true };
  const r = (await GCRA(
    redis,
    on.map((l) => l.key),
    on.flatMap((l) => [l.limit, l.windowMs]),
  )) as number[];
  if (r[0] === 1) return { ok: true };
  return { ok: false, retryAfterMs: Number(r[1]), limit: on[Number(r[2]) - 1] };
}

export type ApiLimits = { perKey: number; perLocation: number; windowSeconds: number };

/**
 * The direct API's limits for one call made with an API key: the key's own and its location's
 * (shared by all its keys). A 429 Response with Retry-After (seconds) when either is spent, else
 * null. If Redis does not answer in time the call is let through (logged): the API needs Redis
 * anyway, and an outage should not turn into refusing every client.
 */
export async function limitApiCall(
  redis: Redis,
  who: { locationId: string; keyId: string },
  cfg: ApiLimits,
  timeoutMs = 1000,
): Promise<Response | null> {
  const windowMs = cfg.windowSeconds * 1000;
  // one hash tag per location: both buckets in one slot, should Redis ever be a cluster
  const limits: Limit[] = [
    { key: `gw:rl:{${who.locationId}}:key:${who.keyId}`, limit: cfg.perKey, windowMs },
    { key: `gw:rl:{${who.locationId}}:location`, limit: cfg.perLocation, windowMs },
  ];
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    take(redis, limits),
    new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs))),
  ])
    .catch((err: unknown) => {
      logger().warn({ err, locationId: who.locationId }, "rate limit not checked (Redis); letting the call through");
      return { ok: true } as const;
    })
    .finally(() => clearTimeout(timer));
  if (r === "timeout") {
    logger().warn({ locationId: who.locationId }, "rate limit not checked (Redis too slow); letting the call through");
    return null;
  }
  if (r.ok) return null;
  return tooManyRequests(r.retryAfterMs, r.limit === limits[0] ? "this API key" : "this location", r.limit);
}

export function tooManyRequests(retryAfterMs: number, whose: string, l: Limit): Response {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return Response.json(
    {
      error: {
        code: "rate_limited",
        message: `too many requests for ${whose} (at most ${l.limit} per ${l.windowMs / 1000} s); retry in ${seconds} s`,
        retryAfterSeconds: seconds,
      },
    },
    { status: 429, headers: { "retry-after": String(seconds) } },
  );
}
