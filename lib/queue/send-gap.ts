import type { Redis } from "ioredis";
import { redisScript } from "../redis-script";

// Per-number pacing shared by every worker: a slot reservation in Redis. Each send asks for the
// next slot; the answer is how long to wait before sending. Kept in Redis (not in memory) so that
// a worker taking over a number after a crash keeps the same rhythm.
const RESERVE = redisScript(`
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, nextAt)
redis.call('SET', KEYS[1], at + gap, 'PX', math.max(gap * 2, 60000))
return at - now
`);

export const pacingKey = (instanceId: string) => `gw:pace:${instanceId}`;

/** Reserves the next send slot of an instance; returns milliseconds to wait before sending. */
export async function reserveSendSlot(
  redis: Redis,
  instanceId: string,
  gapMs: number,
  now = Date.now(),
): Promise<number> {
  const wait = await RESERVE(redis, [pacingKey(instanceId)], [now, Math.max(0, Math.round(gapMs))]);
  return Number(wait);
}

const AFTER_SEND = redisScript(`
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = tonumber(ARGV[1]) + tonumber(ARGV[2])
if at > nextAt then redis.call('SET', KEYS[1], at, 'PX', math.max(tonumber(ARGV[2]) * 2, 60000)) end
return 0
`);

/**
 * After a send has left (or failed): the next one waits a full gap from now, not from when this
 * one was started. A send can take long (the first message to a contact sets up its encryption
 * session; an attachment is downloaded first), and the gap is meant between messages leaving.
 */
export async function holdSlotAfterSend(
  redis: Redis,
  instanceId: string,
  gapMs: number,
  now = Date.now(),
): Promise<void> {
  await AFTER_SEND(redis, [pacingKey(instanceId)], [now, Math.max(0, Math.round(gapMs))]);
}

/** Gap after a message of this kind: fixed for text, random in [min, max] for media. */
export function gapFor(
  kind: "text" | "media",
  cfg: { TEXT_DELAY_MS: number; MEDIA_DELAY_MS_MIN: number; MEDIA_DELAY_MS_MAX: number },
  rand = Math.random,
): number {
  if (kind === "text") return cfg.TEXT_DELAY_MS;
  return Math.round(cfg.MEDIA_DELAY_MS_MIN + rand() * (cfg.MEDIA_DELAY_MS_MAX - cfg.MEDIA_DELAY_MS_MIN));
}
