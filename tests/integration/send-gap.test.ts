import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gapFor, reserveSendSlot } from "@/lib/queue/send-gap";

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
});
afterAll(async () => {
  await redis.quit();
});

describe("per-number pacing in Redis", () => {
  it("spaces consecutive sends of one number by the gap, and leaves other numbers alone", async () => {
    const t = 1_000_000;
    expect(await reserveSendSlot(redis, "wa-A", 1000, t)).toBe(0);
    expect(await reserveSendSlot(redis, "wa-A", 1000, t)).toBe(1000);
    expect(await reserveSendSlot(redis, "wa-A", 500, t + 10)).toBe(1990);
    // another number is not delayed by A's backlog
    expect(await reserveSendSlot(redis, "wa-B", 1000, t)).toBe(0);
    // once time has passed the slot, no wait
    expect(await reserveSendSlot(redis, "wa-A", 1000, t + 10_000)).toBe(0);
  });

  it("is shared by concurrent reservers (two workers) without handing out the same slot", async () => {
    const t = 2_000_000;
    const a = new Redis(`${process.env.TEST_REDIS_URL}/1`);
    const waits = await Promise.all(
      Array.from({ length: 10 }, (_, i) => reserveSendSlot(i % 2 ? a : redis, "wa-C", 100, t)),
    );
    await a.quit();
    expect([...waits].sort((x, y) => x - y)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });

  it("runs its script by SHA, and loads it again when the server has forgotten it (restart, SCRIPT FLUSH)", async () => {
    const t = 3_000_000;
    expect(await reserveSendSlot(redis, "wa-D", 100, t)).toBe(0);
    await redis.script("FLUSH"); // every caller falls back to the text once (BullMQ's scripts too)
    expect(await reserveSendSlot(redis, "wa-D", 100, t)).toBe(100);
    expect(await reserveSendSlot(redis, "wa-D", 100, t)).toBe(200);
  });

  it("draws media gaps from the configured range", () => {
    const cfg = { TEXT_DELAY_MS: 1200, MEDIA_DELAY_MS_MIN: 2500, MEDIA_DELAY_MS_MAX: 6000 };
    expect(gapFor("text", cfg)).toBe(1200);
    expect(gapFor("media", cfg, () => 0)).toBe(2500);
    expect(gapFor("media", cfg, () => 1)).toBe(6000);
    for (let i = 0; i < 50; i++) {
      const g = gapFor("media", cfg);
      expect(g).toBeGreaterThanOrEqual(2500);
      expect(g).toBeLessThanOrEqual(6000);
    }
  });
});
