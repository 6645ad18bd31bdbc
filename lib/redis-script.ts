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
