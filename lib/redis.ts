import { Redis, type RedisOptions } from "ioredis";
import { env } from "./env";

// Two kinds of connection: a shared one for commands, and dedicated ones for blocking use
// (BullMQ workers, pub/sub subscribers), which BullMQ requires to have maxRetriesPerRequest null.
const g = globalThis as unknown as { __redis?: Redis };

export function createRedis(opts: RedisOptions = {}, url = env().REDIS_URL): Redis {
  return new Redis(url, { lazyConnect: false, enableReadyCheck: true, ...opts });
}

export function redis(): Redis {
  g.__redis ??= createRedis({ maxRetriesPerRequest: 3 });
  return g.__redis;
}

export function blockingRedis(): Redis {
  return createRedis({ maxRetriesPerRequest: null });
}

export async function closeRedis() {
  await g.__redis?.quit().catch(() => {});
  g.__redis = undefined;
}
