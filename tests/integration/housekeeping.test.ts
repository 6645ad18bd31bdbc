import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { purgeExpired } from "@/lib/ops/housekeeping";
import { metrics } from "@/lib/ops/metrics";
import { startHousekeeping } from "@/worker/jobs/housekeeping";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// Expired media and webhook receipts are deleted, live ones kept, by a job that runs on its own.
let db: Db;
const redisUrl = `${process.env.TEST_REDIS_URL}/9`;
beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 2);
  await db.location.create({ data: { id: "locA", name: "A" } });
  const r = new Redis(redisUrl);
  await r.flushdb();
  await r.quit();
});
afterAll(async () => {
  await db.$disconnect();
});

const past = (ms: number) => new Date(Date.now() - ms);
const future = (ms: number) => new Date(Date.now() + ms);
async function seed(expired: number, live: number) {
  const blob = (expiresAt: Date, i: number) => ({
    locationId: "locA",
    mimetype: "image/png",
    fileName: `f${i}.png`,
    size: 3,
    data: new Uint8Array([1, 2, 3]),
    expiresAt,
  });
  await db.mediaBlob.createMany({ data: [...Array(expired)].map((_, i) => blob(past(1000 + i), i)) });
  await db.mediaBlob.createMany({ data: [...Array(live)].map((_, i) => blob(future(86_400_000), i)) });
  const tag = Math.random().toString(36).slice(2);
  await db.webhookReceipt.createMany({
    data: [...Array(expired)].map((_, i) => ({ id: `old-${tag}-${i}`, kind: "ghl-app", expiresAt: past(1000 + i) })),
  });
  await db.webhookReceipt.createMany({
    data: [...Array(live)].map((_, i) => ({ id: `new-${tag}-${i}`, kind: "ghl-app", expiresAt: future(3_600_000) })),
  });
}

describe("housekeeping", () => {
  it("deletes expired media and webhook receipts in batches and keeps live ones", async () => {
    await seed(25, 4);
    const r = await purgeExpired(db, { batch: 10 });
    expect(r).toEqual({ mediaBlobs: 25, webhookReceipts: 25 });
    expect(await db.mediaBlob.count()).toBe(4);
    expect(await db.webhookReceipt.count()).toBe(4);
    expect(await purgeExpired(db)).toEqual({ mediaBlobs: 0, webhookReceipts: 0 });
  });

  it("deletes number events older than 14 days, keeping each number's last health state", async () => {
    const { purgeNumberEvents } = await import("@/lib/health/number-events");
    await db.location.upsert({ where: { id: "locH" }, create: { id: "locH", name: "H" }, update: {} });
    await db.instance.upsert({
      where: { id: "ih" },
      create: { id: "ih", locationId: "locH", name: "wa-01" },
      update: {},
    });
    const day = 86_400_000;
    await db.numberEvent.createMany({
      data: [
        { locationId: "locH", instanceId: "ih", kind: "error_ack", code: "463", at: past(15 * day) },
        { locationId: "locH", instanceId: "ih", kind: "reconnect", at: past(20 * day) },
        { locationId: "locH", instanceId: "ih", kind: "health", code: "at_risk", at: past(20 * day) },
        { locationId: "locH", instanceId: "ih", kind: "error_ack", code: "463", at: past(13 * day) },
      ],
    });
    expect(await purgeNumberEvents(db, new Date(), { batch: 1 })).toBe(2);
    expect(
      (await db.numberEvent.findMany({ where: { instanceId: "ih" }, orderBy: { at: "asc" } })).map((e) => e.kind),
    ).toEqual(["health", "error_ack"]);
  });

  it("stops after maxBatches, leaving the rest for the next run", async () => {
    await seed(30, 0);
    expect(await purgeExpired(db, { batch: 10, maxBatches: 2 })).toEqual({ mediaBlobs: 20, webhookReceipts: 20 });
    expect(await purgeExpired(db, { batch: 10, maxBatches: 2 })).toEqual({ mediaBlobs: 10, webhookReceipts: 10 });
  });

  it("runs as a repeatable job in the worker, counted in the metrics", async () => {
    await db.mediaBlob.deleteMany();
    await db.webhookReceipt.deleteMany();
    await seed(3, 2);
    const deleted = metrics().counter("gw_housekeeping_deleted_total", "");
    const runs = metrics().counter("gw_housekeeping_runs_total", "");
    const before = {
      media: deleted.get({ table: "media_blob" }),
      receipts: deleted.get({ table: "webhook_receipt" }),
      runs: runs.get({ outcome: "ok" }),
    };
    const conns: Redis[] = [];
    const hk = await startHousekeeping({
      db,
      log: pino({ level: "silent" }),
      everyMs: 1000,
      connect: () => {
        const c = new Redis(redisUrl, { maxRetriesPerRequest: null });
        conns.push(c);
        return c;
      },
    });
    try {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await db.mediaBlob.count()) > 2) await new Promise((r) => setTimeout(r, 200));
      expect(await db.mediaBlob.count()).toBe(2);
      // a receipt that expires after the first run goes at a later one
      await db.webhookReceipt.create({ data: { id: "soon", kind: "ghl-app", expiresAt: future(300) } });
      while (Date.now() < deadline && (await db.webhookReceipt.count({ where: { id: "soon" } })) > 0)
        await new Promise((r) => setTimeout(r, 200));
      expect(await db.webhookReceipt.count({ where: { id: "soon" } })).toBe(0);
      expect(await db.webhookReceipt.count()).toBe(2);
      expect(deleted.get({ table: "media_blob" }) - before.media).toBe(3);
      expect(deleted.get({ table: "webhook_receipt" }) - before.receipts).toBe(4);
      expect(runs.get({ outcome: "ok" }) - before.runs).toBeGreaterThanOrEqual(2);
      expect(await metrics().render()).toMatch(/gw_housekeeping_deleted_total\{table="media_blob"\} \d+/);
    } finally {
      await hk.stop();
    }
    // both connections it made are closed (quit answers before the socket's end)
    await expect.poll(() => conns.map((c) => c.status), { timeout: 3000 }).toEqual(["end", "end"]);
  });
});
