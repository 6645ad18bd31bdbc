import type { Redis } from "ioredis";
import { redisScript } from "../redis-script";

// Per-tenant pacing shared by every process: GHL allows 100 calls per 10 s per app per location
// (or company). A sliding window in Redis keeps us a little under that, so a burst from one
// location waits instead of drawing 429s, and never slows another location.
export const GHL_BURST = { max: 90, windowMs: 10_000 };

const TAKE = redisScript(`
local key, now, window, max, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < max then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window - now
`);

let seq = 0;

/** Waits until this tenant may make another GHL call. */
export async function waitForGhlSlot(redis: Redis, tenant: string, limit = GHL_BURST): Promise<void> {
  for (;;) {
    const member = `${Date.now()}-${process.pid}-${seq++}`;
    const wait = Number(await TAKE(redis, [`gw:ghl:rate:${tenant}`], [Date.now(), limit.windowMs, limit.max, member]));
    if (wait <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(wait + 5, limit.windowMs)));
  }
}

/** How many calls this tenant made in the last window (every process's): the live load the history import yields to. */
export async function ghlWindowUse(redis: Redis, tenant: string, limit = GHL_BURST): Promise<number> {
  return redis.zcount(`gw:ghl:rate:${tenant}`, Date.now() - limit.windowMs, "+inf");
}
