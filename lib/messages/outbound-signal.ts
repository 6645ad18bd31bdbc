import type { Redis } from "ioredis";

// Wakes the worker that owns an instance when a message is queued for it. Only a hint: the
// worker also polls, so a lost publish delays a message by the poll interval, never loses it.
export const OUTBOUND_CHANNEL = "gw:outbound";

export async function publishOutboundQueued(redis: Redis, instanceId: string) {
  await redis.publish(OUTBOUND_CHANNEL, instanceId).catch(() => {});
}
