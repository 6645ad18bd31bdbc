import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { redisScript } from "../redis-script";

// Live event streams (SSE) hold a connection and a Redis subscription for as long as the client
// keeps them open, so a location may hold only so many at once (EVENTS_MAX_STREAMS_PER_LOCATION),
// counted across every app process: a sorted set per location whose members are open streams,
// scored by when each slot lapses unless its stream renews it. A stream renews its slot at every
// credential check (30 s) and gives it back when it ends; a process that dies without giving
// its slots back holds them only until they lapse (SLOT_TTL_MS).

export const SLOT_TTL_MS = 90_000;
const key = (locationId: string) => `gw:streams:${locationId}`;

// KEYS[1] the location's set; ARGV: now, lapse time, max, member. 1 taken, 0 full.
const TAKE = redisScript(`
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[4])
redis.call("PEXPIREAT", KEYS[1], ARGV[2])
return 1`);
// renews a slot still held (a lapsed and swept slot is not brought back); the set lives as long
// as its latest slot
const RENEW = redisScript(`
if not redis.call("ZSCORE", KEYS[1], ARGV[2]) then return 0 end
redis.call("ZADD", KEYS[1], "XX", ARGV[1], ARGV[2])
redis.call("PEXPIREAT", KEYS[1], ARGV[1])
return 1`);

export type StreamSlot = { renew(): Promise<boolean>; release(): Promise<void> };

/** Takes one of the location's stream slots, or undefined when all `max` are held. */
export async function takeStreamSlot(
  redis: Redis,
  locationId: string,
  max: number,
  now = Date.now(),
): Promise<StreamSlot | undefined> {
  const member = randomUUID();
  const taken = await TAKE(redis, [key(locationId)], [now, now + SLOT_TTL_MS, max, member]);
  if (taken !== 1) return undefined;
  let released = false;
  return {
    async renew() {
      if (released) return false;
      const t = Date.now();
      return (await RENEW(redis, [key(locationId)], [t + SLOT_TTL_MS, member])) === 1;
    },
    async release() {
      if (released) return;
      released = true;
      await redis.zrem(key(locationId), member);
    },
  };
}

/** How many stream slots the location holds now (for tests and metrics). */
export async function heldStreamSlots(redis: Redis, locationId: string, now = Date.now()): Promise<number> {
  return redis.zcount(key(locationId), `(${now}`, "+inf");
}
