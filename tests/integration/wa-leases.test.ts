import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Leases } from "@/worker/whatsapp/leases";

// One socket per instance in the whole fleet rests on these four properties of the Redis lease.
let redis: Redis;
beforeAll(async () => {
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
});
afterAll(async () => {
  await redis.quit();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("instance leases", () => {
  it("is exclusive: of many workers racing for one instance exactly one wins", async () => {
    const workers = Array.from({ length: 8 }, (_, i) => new Leases(redis, `w${i}`, 5000));
    const won = await Promise.all(workers.map((w) => w.acquire("race")));
    expect(won.filter(Boolean)).toHaveLength(1);
    const winner = workers[won.indexOf(true)];
    expect(await winner.owner("race")).toBe(winner.workerId);
  });

  it("is renewed only by its owner, and renewal keeps it past the original TTL", async () => {
    const a = new Leases(redis, "a", 400);
    const b = new Leases(redis, "b", 400);
    expect(await a.acquire("renew")).toBe(true);
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      expect(await a.renew("renew")).toBe(true);
      expect(await b.renew("renew")).toBe(false);
      expect(await b.acquire("renew")).toBe(false);
    }
    expect(await a.owner("renew")).toBe("a");
  });

  it("expires when its owner stops renewing (killed worker), and another takes it over", async () => {
    const dead = new Leases(redis, "dead", 300);
    const alive = new Leases(redis, "alive", 300);
    expect(await dead.acquire("takeover")).toBe(true);
    expect(await alive.acquire("takeover")).toBe(false);
    await sleep(400);
    expect(await alive.acquire("takeover")).toBe(true);
    // the old owner, waking up, can neither renew nor release the new owner's lease
    expect(await dead.renew("takeover")).toBe(false);
    expect(await dead.release("takeover")).toBe(false);
    expect(await alive.owner("takeover")).toBe("alive");
  });

  it("is released only by its owner, after which anyone can take it at once", async () => {
    const a = new Leases(redis, "a", 10_000);
    const b = new Leases(redis, "b", 10_000);
    expect(await a.acquire("rel")).toBe(true);
    expect(await b.release("rel")).toBe(false);
    expect(await a.owner("rel")).toBe("a");
    expect(await a.release("rel")).toBe(true);
    expect(await b.acquire("rel")).toBe(true);
  });

  it("a restarted worker with the same id gets its own lease back without waiting", async () => {
    const before = new Leases(redis, "same-id", 10_000);
    const after = new Leases(redis, "same-id", 10_000);
    expect(await before.acquire("again")).toBe(true);
    expect(await after.acquire("again")).toBe(true);
  });
  it("after Redis lost every key, the holder takes its lease back by renewing; an owned one is never taken", async () => {
    const holder = new Leases(redis, "holder", 10_000);
    const other = new Leases(redis, "other", 10_000);
    expect(await holder.acquire("wiped")).toBe(true);
    await redis.flushdb(); // a failover without persistence
    expect(await holder.renew("wiped")).toBe(true);
    expect(await holder.owner("wiped")).toBe("holder");
    expect(await other.acquire("wiped")).toBe(false);
    expect(await other.renew("wiped")).toBe(false);
    expect(await holder.owner("wiped")).toBe("holder");
  });
});
