import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { checkReadiness, WORKER_HEARTBEAT_PREFIX } from "@/lib/ops/readiness";
import { cloneTemplateDb } from "./helpers/db";

let db: Db;
let redis: Redis;

beforeAll(async () => {
  db = createDb(await cloneTemplateDb("ghl_wa_it_readiness"), 2);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
});
afterAll(async () => {
  await db.$disconnect();
  await redis.quit();
});

describe("readiness", () => {
  it("reports a missing worker, then ready once a worker heartbeat exists", async () => {
    const before = await checkReadiness({ db, redis });
    expect(before.ok).toBe(false);
    expect(before.checks.postgres.ok).toBe(true);
    expect(before.checks.migrations.ok).toBe(true);
    expect(before.checks.redis.ok).toBe(true);
    expect(before.checks.worker).toMatchObject({ ok: false, error: expect.stringMatching(/no worker/) });

    await redis.set(`${WORKER_HEARTBEAT_PREFIX}w1`, "{}", "PX", 5000);
    const after = await checkReadiness({ db, redis });
    expect(after.ok).toBe(true);
    expect(after.checks.worker.detail).toEqual({ workers: ["w1"] });
  });

  it("names pending migrations", async () => {
    await db.$executeRawUnsafe(`DELETE FROM _prisma_migrations`);
    const r = await checkReadiness({ db, redis });
    expect(r.checks.migrations.ok).toBe(false);
    expect(r.checks.migrations.error).toMatch(/pending migrations: \d{14}_init/);
  });

  it("reports an unreachable Redis without throwing", async () => {
    const dead = new Redis("redis://127.0.0.1:1", { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    dead.on("error", () => {});
    const r = await checkReadiness({ db, redis: dead });
    expect(r.ok).toBe(false);
    expect(r.checks.redis.ok).toBe(false);
    dead.disconnect();
  });
});
