import { Redis, type RedisOptions } from "ioredis";
import { env } from "./env";
import { logger } from "./log";

// Two kinds of connection: a shared one for commands, and dedicated ones for blocking use
// (BullMQ workers, pub/sub subscribers), which BullMQ requires to have maxRetriesPerRequest null.
const g = globalThis as unknown as { __redis?: Redis };

export function createRedis(opts: RedisOptions = {}, url = env().REDIS_URL): Redis {
  const r = new Redis(url, { lazyConnect: false, enableReadyCheck: true, ...opts });
  // Without a listener ioredis prints "[ioredis] Unhandled error event" with a stack on stderr
  // for every failed reconnect while Redis is away (seen: 18 per app in a 10 s Redis restart).
  // One warning per connection and outage instead; ioredis goes on reconnecting either way.
  let warned = false;
  r.on("error", (err: NodeJS.ErrnoException) => {
    if (warned) return;
    warned = true;
    logger().warn({ code: err.code, error: err.message }, "Redis connection failed; reconnecting");
  });
  r.on("ready", () => (warned = false));
  return r;
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

/**
 * Subscribes once the connection is ready. ioredis 5.11 writes SUBSCRIBE at once while the
 * connection is still in its handshake (the command may run while Redis loads), before its own
 * ready check; that check's INFO is then refused ("Connection in subscriber mode"), the
 * connection is torn down, and the subscription can be lost. Seen: 63 of 200 subscribers made
 * right after `new Redis()` lost the first message published to them.
 */
export async function subscribeWhenReady(r: Redis, ...channels: string[]): Promise<void> {
  await whenReady(r);
  await r.subscribe(...channels);
}

/** Resolves when the connection is ready (at once if it is); rejects if it ends first. */
export function whenReady(r: Redis): Promise<void> {
  if (r.status === "ready") return Promise.resolve();
  if (r.status === "end") return Promise.reject(new Error("the Redis connection is closed"));
  if (r.status === "wait") r.connect().catch(() => {});
  return new Promise((resolve, reject) => {
    const done = () => {
      r.off("ready", onReady);
      r.off("end", onEnd);
    };
    const onReady = () => (done(), resolve());
    const onEnd = () => (done(), reject(new Error("the Redis connection closed before it was ready")));
    r.on("ready", onReady);
    r.on("end", onEnd);
  });
}
