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
    const dead = new Redis("redis://127.0.0.1:1", {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    dead.on("error", () => {});
    const r = await checkReadiness({ db, redis: dead });
    expect(r.ok).toBe(false);
    expect(r.checks.redis.ok).toBe(false);
    dead.disconnect();
  });
});

describe("GET /api/ready", () => {
  it("shows anonymous callers only ok per check; worker ids and errors need the metrics token", async () => {
    const { useAppEnv, req } = await import("./helpers/app-env");
    const restore = useAppEnv({
      databaseUrl: await cloneTemplateDb("ghl_wa_it_readiness_route"),
      redisDb: 1,
      extra: { METRICS_TOKEN: "ready-token-123" },
    });
    try {
      const { GET } = await import("@/app/api/ready/route");
      await redis.flushdb(); // no heartbeat left from the tests above
      await redis.set(`${WORKER_HEARTBEAT_PREFIX}worker-host-7f3a`, "{}", "PX", 5000);
      const anon = await GET(req("/api/ready"));
      expect(anon.status).toBe(200);
      const text = await anon.text();
      expect(text).not.toContain("worker-host-7f3a");
      expect(JSON.parse(text)).toEqual({
        ok: true,
        checks: { postgres: { ok: true }, migrations: { ok: true }, redis: { ok: true }, worker: { ok: true } },
      });
      for (const authorization of ["Bearer wrong", "ready-token-123", "Basic cmVhZHk="]) {
        expect(await (await GET(req("/api/ready", { headers: { authorization } }))).text()).not.toContain(
          "worker-host-7f3a",
        );
      }
      const full = await (
        await GET(req("/api/ready", { headers: { authorization: "Bearer ready-token-123" } }))
      ).json();
      expect(full.checks.worker.detail.workers).toContain("worker-host-7f3a");
      // not ready: the status still says so, and which check failed, without its error text
      await redis.del(`${WORKER_HEARTBEAT_PREFIX}worker-host-7f3a`);
      const down = await GET(req("/api/ready"));
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ ok: false, checks: { worker: { ok: false } } });
    } finally {
      await restore();
    }
  });
});
