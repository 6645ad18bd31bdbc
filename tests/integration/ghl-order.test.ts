import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { listDeadLetters } from "@/lib/queue/dead-letters";
import { enqueueGhl, GHL_QUEUE } from "@/lib/queue/ghl-jobs";
import { startGhlSyncWorker } from "@/worker/jobs/ghl-sync";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { type FakeGhlPost, fakeGhl } from "./helpers/fake-ghl";

// Inbound messages reach GHL in each contact's order although the GHL queue runs 8 jobs at once
// and retries with backoff; a message that never gets through does not hold the rest back; one
// stored but never queued (the worker died in between) is found and posted.
let db: Db;
let redis: Redis;
let queue: Queue;
let consumer: ReturnType<typeof startGhlSyncWorker>;

const posts: FakeGhlPost[] = [];
const calls: string[] = [];
const failAltIds = new Set<string>();

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 6);
  // a Redis database of its own (see ghl-queue.test.ts)
  redis = new Redis(`${process.env.TEST_REDIS_URL}/5`, { maxRetriesPerRequest: null });
  await redis.flushdb();
  await db.location.create({ data: { id: "locA", name: "A" } });
  await db.instance.create({ data: { id: "i1", locationId: "locA", name: "wa-01" } });
  queue = new Queue(GHL_QUEUE, {
    connection: redis,
    defaultJobOptions: { attempts: 2, backoff: { type: "fixed", delay: 300 }, removeOnFail: false },
  });
  const ghl = fakeGhl(posts, { calls, fail: (altId) => failAltIds.has(altId) });
  consumer = startGhlSyncWorker({
    db,
    connection: redis,
    queue,
    ghlFor: () => ghl,
    cfg: { appUrl: "http://x", conversationProviderId: "" },
    log: pino({ level: "silent" }),
    concurrency: 8,
    sweepEveryMs: 3_600_000,
  });
});
afterAll(async () => {
  await consumer.stop();
  await queue.close();
  await redis.quit();
  await db.$disconnect();
});

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `n` messages of one new contact, all in the same WhatsApp second (as a burst is), stored in order. */
async function burst(phone: string, n: number, prefix: string, at = new Date("2026-11-28T10:00:00.000Z")) {
  const contact = await db.contact.create({ data: { locationId: "locA", phone } });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = await db.message.create({
      data: {
        locationId: "locA",
        instanceId: "i1",
        contactId: contact.id,
        direction: "INBOUND",
        source: "WHATSAPP",
        waMessageId: `${prefix}${i}`,
        text: `${i}`,
        status: "RECEIVED",
        createdAt: at,
      },
    });
    ids.push(m.id);
  }
  return { contact, ids, altIds: ids.map((_, i) => `${prefix}${i}`) };
}
const postedFor = (phone: string) => posts.filter((p) => p.contactId === `ghl-${phone}`).map((p) => p.altId);

describe("inbound order per contact", () => {
  it("posts two contacts' bursts in each contact's order although jobs are queued backwards and run 8 at once", async () => {
    const a = await burst("+15550100001", 12, "A");
    const b = await burst("+15550100002", 6, "B");
    // queued newest first, the two contacts interleaved: the queue's order is no help
    const jobs = [...a.ids.map((id) => ({ id, k: 0 })), ...b.ids.map((id) => ({ id, k: 1 }))].reverse();
    for (const j of jobs) await enqueueGhl(queue, { kind: "inbound", locationId: "locA", messageId: j.id });
    await until("all 18 posted", () => postedFor("+15550100001").length + postedFor("+15550100002").length === 18);
    expect(postedFor("+15550100001")).toEqual(a.altIds);
    expect(postedFor("+15550100002")).toEqual(b.altIds);
    // one GHL contact and one conversation per WhatsApp contact, not one per parallel job
    expect(calls.filter((c) => c === "POST /contacts/upsert")).toHaveLength(2);
    expect(calls.filter((c) => c === "POST /conversations/")).toHaveLength(2);
    expect(
      await db.message.count({ where: { contactId: { in: [a.contact.id, b.contact.id] }, status: "SYNCED" } }),
    ).toBe(18);
  });

  it("a message that fails every attempt becomes a dead letter and the contact's later messages follow it", async () => {
    const c = await burst("+15550100003", 4, "C");
    failAltIds.add("C0");
    for (const id of [...c.ids].reverse())
      await enqueueGhl(queue, { kind: "inbound", locationId: "locA", messageId: id });
    await until("the other 3 posted", () => postedFor("+15550100003").length === 3);
    expect(postedFor("+15550100003")).toEqual(["C1", "C2", "C3"]);
    expect(await db.message.findUniqueOrThrow({ where: { id: c.ids[0] } })).toMatchObject({
      status: "FAILED",
      error: "Not posted to GHL: GHL answered 500",
    });
    await until("the dead letter listed", async () =>
      (await listDeadLetters(queue, "locA")).some((d) => d.messageId === c.ids[0]),
    );
  });

  it("an earlier message stored but never queued is queued by the next one, and posted before it", async () => {
    const d = await burst("+15550100004", 3, "D");
    // only the last one was queued: the worker died after storing D0 and D1
    await enqueueGhl(queue, { kind: "inbound", locationId: "locA", messageId: d.ids[2] });
    await until("all 3 posted", () => postedFor("+15550100004").length === 3);
    expect(postedFor("+15550100004")).toEqual(d.altIds);
  });

  it("the sweep queues an inbound message stored but never queued once it is a minute old", async () => {
    const e = await burst("+15550100005", 1, "E");
    expect(await consumer.sweep()).toBe(0); // just stored: its job may be on its way
    await db.$executeRaw`UPDATE "Message" SET "updatedAt" = now() - interval '2 minutes' WHERE id = ${e.ids[0]}`;
    expect(await consumer.sweep()).toBe(1);
    await until("posted", () => postedFor("+15550100005").length === 1);
    expect(await consumer.sweep()).toBe(0);
  });
});
