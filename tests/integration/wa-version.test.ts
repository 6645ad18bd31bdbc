import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waWebVersion } from "@/worker/whatsapp/wa-version";

// The WhatsApp Web version: fetched at most daily, shared through Redis, never fetched when not allowed.
let redis: Redis;
const log = pino({ level: "silent" });
beforeAll(async () => {
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
});
afterAll(async () => {
  await redis.quit();
});

describe("WhatsApp Web version", () => {
  it("uses the bundled version (undefined) when fetching is not allowed and nothing is cached", async () => {
    let calls = 0;
    expect(
      await waWebVersion(redis, log, { fetchOnline: false, fetcher: async () => (calls++, { version: [2, 3000, 1] }) }),
    ).toBeUndefined();
    expect(calls).toBe(0);
  });

  it("fetches once, then serves every worker from Redis for a day", async () => {
    let calls = 0;
    const fetcher = async () => (calls++, { version: [2, 3000, 7] as [number, number, number] });
    const t0 = 1_800_000_000_000;
    expect(await waWebVersion(redis, log, { fetchOnline: true, fetcher, now: t0 })).toEqual([2, 3000, 7]);
    expect(await waWebVersion(redis, log, { fetchOnline: true, fetcher, now: t0 + 3600_000 })).toEqual([2, 3000, 7]);
    expect(await waWebVersion(redis, log, { fetchOnline: false, now: t0 + 3600_000 })).toEqual([2, 3000, 7]);
    expect(calls).toBe(1);
  });

  it("keeps the last known version when a refresh fails", async () => {
    const later = 1_800_000_000_000 + 25 * 3600_000;
    expect(
      await waWebVersion(redis, log, {
        fetchOnline: true,
        fetcher: async () => ({ version: [2, 2413, 1], error: new Error("offline") }),
        now: later,
      }),
    ).toEqual([2, 3000, 7]);
  });
});
