import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

// A Lua script run by its SHA (EVALSHA): the script text crosses the wire once per Redis server,
// not on every call (the hot paths call these per message and per lease renewal). A server that
// does not know it yet (first call, restart, SCRIPT FLUSH) answers NOSCRIPT, and the call is made
// once with the text, which loads it.
export type RedisScript = (redis: Redis, keys: string[], args: (string | number)[]) => Promise<unknown>;

export function redisScript(lua: string): RedisScript {
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith("NOSCRIPT")) throw err;
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
  };
}

const DELETE_IF = redisScript(
  `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`,
);

/** Deletes `key` only while it still holds `value` (a lock or lease released by its owner only). */
export async function deleteIfEquals(redis: Redis, key: string, value: string): Promise<boolean> {
  return (await DELETE_IF(redis, [key], [value])) === 1;
}
