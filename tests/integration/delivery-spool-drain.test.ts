import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { keyringFrom } from "@/lib/crypto";
import { createDb, type Db } from "@/lib/db";
import { logger } from "@/lib/log";
import { storeSpooled } from "@/lib/messages/delivery";
import { DeliverySpool, deadKey, spoolKey } from "@/lib/messages/delivery-spool";
import { GHL_QUEUE } from "@/lib/queue/ghl-jobs";
import { type Refusal, reportRefusalToGhl, startDeliverySpoolDrain } from "@/worker/jobs/delivery-spool-drain";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The drain of the Delivery URL spool (worker/jobs/delivery-spool-drain.ts, decision 006) on its
// own: several workers at once, a worker that died between storing and removing, an entry that
// can never be stored, one refused, one tampered with. The spool holds only signed, validated
// calls (the route checks before it spools), so entries are put here directly.
const REDIS_DB = 8;
const keys = keyringFrom(`k1:${Buffer.alloc(32, 1).toString("base64")}`);
let db: Db;
let redis: Redis;
let spool: DeliverySpool;

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 6);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/${REDIS_DB}`);
  spool = new DeliverySpool(redis, keys);
  await db.location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locB", name: "B" },
      { id: "locGone", name: "Gone", installed: false },
    ],
  });
  await db.instance.createMany({
    data: [
      { id: "a1", locationId: "locA", name: "wa-01" },
      { id: "b1", locationId: "locB", name: "wa-01" },
    ],
  });
});
beforeEach(async () => {
  await redis.flushdb();
});
afterAll(async () => {
  await db.$disconnect();
  await redis.quit();
});

const body = (o: Record<string, unknown> = {}) => ({
  contactId: "c1",
  locationId: "locA",
  messageId: `g${Math.random().toString(36).slice(2)}`,
  type: "SMS",
  phone: "+15550002001",
  message: "hi",
  attachments: [],
  ...o,
});
const put = async (p: Record<string, unknown>) => spool.put(String(p.locationId), Buffer.from(JSON.stringify(p)));
const drainer = (o: { maxTries?: number; onRefused?: (r: Refusal) => Promise<void> } = {}) =>
  startDeliverySpoolDrain({ db, redis, spool, log: logger(), everyMs: 0, ...o });
const textsOf = async (locationId: string, ids: string[]) =>
  (
    await db.message.findMany({
      where: { locationId, ghlMessageId: { in: ids } },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    })
  ).map((m) => m.text);

describe("delivery spool drain", () => {
  it("three workers draining at once store each message once, in order; a worker that died before removing an entry costs nothing", async () => {
    const a = Array.from({ length: 30 }, (_, i) => body({ message: `a${i}` }));
    const b = Array.from({ length: 30 }, (_, i) =>
      body({ locationId: "locB", phone: "+15550002002", message: `b${i}` }),
    );
    for (let i = 0; i < 30; i++) {
      await put(a[i]);
      await put(b[i]);
    }
    // a worker stored the head of locA and died before removing it
    const h = await spool.head("locA");
    if (h.kind !== "entry") throw new Error("no head");
    await storeSpooled(db, redis, h.entry);

    const ds = [drainer(), drainer(), drainer()];
    const passes: Awaited<ReturnType<ReturnType<typeof drainer>["drainOnce"]>>[] = [];
    while ((await spool.size()) > 0) passes.push(...(await Promise.all(ds.map((d) => d.drainOnce()))));
    expect(
      await textsOf(
        "locA",
        a.map((p) => p.messageId),
      ),
    ).toEqual(a.map((p) => p.message));
    expect(
      await textsOf(
        "locB",
        b.map((p) => p.messageId),
      ),
    ).toEqual(b.map((p) => p.message));
    expect(await db.message.count({ where: { ghlMessageId: { in: [...a, ...b].map((p) => p.messageId) } } })).toBe(60);
    const sum = (k: "stored" | "duplicate") => passes.reduce((n, p) => n + p[k], 0);
    expect(sum("stored")).toBe(59);
    expect(sum("duplicate")).toBeGreaterThanOrEqual(1);
    expect(await spool.locations()).toEqual([]);
  });

  it("an entry Postgres rejects every time goes to the dead list after the last try; the location's later ones follow, other locations never waited", async () => {
    // a NUL character: valid JSON and schema, but Postgres refuses it in a text column
    const poison = body({ message: "bad\u0000byte" });
    const next = body({ message: "after the bad one" });
    const other = body({ locationId: "locB", phone: "+15550002002", message: "other location" });
    await put(poison);
    await put(next);
    await put(other);
    const d = drainer({ maxTries: 3 });
    await d.drainOnce();
    // locB is through at once; locA waits behind its head
    expect(await db.message.count({ where: { ghlMessageId: other.messageId } })).toBe(1);
    expect(await db.message.count({ where: { ghlMessageId: next.messageId } })).toBe(0);
    await d.drainOnce();
    expect(await redis.llen(spoolKey("locA"))).toBe(2);
    const last = await d.drainOnce();
    expect(last.dead).toBe(1);
    expect(await db.message.count({ where: { ghlMessageId: next.messageId } })).toBe(1);
    expect(await db.message.count({ where: { ghlMessageId: poison.messageId } })).toBe(0);
    expect(await spool.deadCount("locA")).toBe(1);
    expect(JSON.parse((await redis.lindex(deadKey("locA"), 0))!)).toMatchObject({
      reason: expect.any(String),
      value: expect.any(String),
    });
    expect(await spool.size()).toBe(0);
  });

  it("drops a refused entry as the call would have been refused, and tells GHL the message failed where the location can be reached", async () => {
    const gone = body({ locationId: "locGone" });
    const national = body({ phone: "555 0100" }); // no country code and locA has no default country
    const fine = body({ message: "fine" });
    for (const p of [gone, national, fine]) await put(p);
    const refused: Refusal[] = [];
    const d = drainer({ onRefused: async (r) => void refused.push(r) });
    const pass = await d.drainOnce();
    expect(pass).toMatchObject({ stored: 1, refused: 2, dead: 0 });
    expect(await db.message.count({ where: { ghlMessageId: { in: [gone.messageId, national.messageId] } } })).toBe(0);
    expect(await db.message.count({ where: { ghlMessageId: fine.messageId } })).toBe(1);
    expect(refused.map((r) => [r.locationId, r.ghlMessageId, r.error.status]).sort()).toEqual([
      ["locA", national.messageId, 400],
      ["locGone", gone.messageId, 403],
    ]);
    // what the worker does with them: a "failed" status for GHL, except for a location it cannot reach (403)
    const queue = new Queue(GHL_QUEUE, {
      connection: new Redis(`${process.env.TEST_REDIS_URL}/${REDIS_DB}`, { maxRetriesPerRequest: null }),
    });
    try {
      for (const r of refused) await reportRefusalToGhl(queue)(r);
      const jobs = await queue.getJobs(["waiting", "delayed", "prioritized"]);
      expect(jobs.map((j) => j.data)).toEqual([
        {
          kind: "status",
          locationId: "locA",
          messageId: `spooled-${national.messageId}`,
          ghlMessageId: national.messageId,
          status: "failed",
          error: expect.stringContaining("country code"),
        },
      ]);
    } finally {
      await queue.close();
      await (await queue.client).quit().catch(() => {});
    }
  });

  it("moves a tampered entry to the dead list, and leaves one sealed with a key this worker lacks", async () => {
    const p = body({ message: "sealed elsewhere" });
    const other = new DeliverySpool(redis, keyringFrom(`k9:${Buffer.alloc(32, 9).toString("base64")}`));
    await other.put("locA", Buffer.from(JSON.stringify(p)));
    const d = drainer();
    await d.drainOnce();
    expect(await redis.llen(spoolKey("locA"))).toBe(1); // not ours to open: left for a worker with key k9
    expect(await spool.deadCount("locA")).toBe(0);

    await redis.del(spoolKey("locA"));
    await put(body({ message: "will be tampered with" }));
    const v = (await redis.lindex(spoolKey("locA"), 0))!;
    await redis.lset(spoolKey("locA"), 0, v.slice(0, -6) + (v.endsWith("AAAAAA") ? "BBBBBB" : "AAAAAA"));
    const pass = await d.drainOnce();
    expect(pass.dead).toBe(1);
    expect(await spool.size()).toBe(0);
  });

  it("refuses an entry whose body names another location than the one it was spooled for", async () => {
    // the list is the location's, the AAD binds the entry to it; a body naming another is refused
    const p = body({ locationId: "locB" });
    await spool.put("locA", Buffer.from(JSON.stringify(p)));
    const pass = await drainer().drainOnce();
    expect(pass.refused).toBe(1);
    expect(await db.message.count({ where: { ghlMessageId: p.messageId } })).toBe(0);
  });
});
