import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { positionOf } from "@/lib/messages/ghl-order";
import { loadInboundToPost } from "@/lib/messages/ghl-post";
import {
  ACTIVE_OUTBOUND,
  claimNext,
  failOutbound,
  holdOutbound,
  markSent,
  markWaiting,
  numbersWithWork,
  OUTBOUND_QUEUE_INDEX,
  peekNext,
  requeue,
  waitedTooLong,
} from "@/lib/messages/outbound-queue";
import { applyReceipts } from "@/lib/messages/receipts";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The outbound state machine in lib/messages/outbound-queue.ts, against the migrated schema.
let db: Db;
beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 2);
  await db.location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locB", name: "B" },
    ],
  });
  await db.instance.createMany({
    data: [
      { id: "iA", locationId: "locA", name: "wa-01" },
      { id: "iB", locationId: "locB", name: "wa-01" },
    ],
  });
  await db.contact.create({ data: { id: "cA", locationId: "locA", phone: "+15550001111" } });
});
afterAll(async () => {
  await db.$disconnect();
});

const queue = (id: string, at: number, o: Record<string, unknown> = {}) =>
  db.message.create({
    data: {
      id,
      locationId: "locA",
      instanceId: "iA",
      contactId: "cA",
      direction: "OUTBOUND",
      source: "GHL",
      status: "QUEUED",
      text: id,
      createdAt: new Date(at),
      ...o,
    },
  });

describe("outbound queue", () => {
  it("its statuses are the partial index's predicate, as migrated", async () => {
    const [ix] = await db.$queryRaw<
      { indexdef: string }[]
    >`SELECT indexdef FROM pg_indexes WHERE indexname = ${OUTBOUND_QUEUE_INDEX}`;
    expect(ix, "the index exists").toBeTruthy();
    const listed = [...ix.indexdef.matchAll(/'([A-Z]+)'::"MessageStatus"/g)].map((m) => m[1]);
    expect(new Set(listed)).toEqual(new Set(ACTIVE_OUTBOUND));
  });

  it("claims the oldest, fixes its WhatsApp id, keeps it across a requeue, and moves on only from SENDING", async () => {
    await queue("m1", 1000);
    await queue("m2", 2000);
    expect(await numbersWithWork(db, ["iA", "iB"])).toEqual(["iA"]);
    expect((await peekNext(db, "iA"))?.id).toBe("m1");
    await markWaiting(db, "iA");
    expect(
      (await db.message.findMany({ where: { instanceId: "iA" }, orderBy: { id: "asc" } })).map((m) => m.status),
    ).toEqual(["WAITING", "WAITING"]);

    const c1 = await claimNext(db, "iA");
    expect(c1).toMatchObject({
      id: "m1",
      status: "SENDING",
      attempts: 1,
      more: true,
      contact: { id: "cA", phone: "+15550001111" },
    });
    expect(c1!.waMessageId).toMatch(/^3EB0[0-9A-F]{20}$/);
    await requeue(db, c1!, "socket closed");
    const c2 = await claimNext(db, "iA");
    expect(c2).toMatchObject({ id: "m1", attempts: 2, waMessageId: c1!.waMessageId });
    await markSent(db, c2!);
    expect(await db.message.findUniqueOrThrow({ where: { id: "m1" } })).toMatchObject({ status: "SENT", error: null });
    // a receipt that came first is not overwritten
    await db.message.update({ where: { id: "m1" }, data: { status: "DELIVERED" } });
    await markSent(db, c2!);
    expect((await db.message.findUniqueOrThrow({ where: { id: "m1" } })).status).toBe("DELIVERED");

    const c3 = await claimNext(db, "iA");
    expect(c3).toMatchObject({ id: "m2", more: false });
    const told: GhlJob[] = [];
    await failOutbound(db, async (j) => told.push(j), { ...c3!, ghlMessageId: "g2" }, "no such number");
    expect(await db.message.findUniqueOrThrow({ where: { id: "m2" } })).toMatchObject({
      status: "FAILED",
      error: "no such number",
    });
    expect(told).toEqual([
      {
        kind: "status",
        locationId: "locA",
        messageId: "m2",
        ghlMessageId: "g2",
        status: "failed",
        error: "no such number",
      },
    ]);
    expect(await claimNext(db, "iA")).toBeUndefined();
    expect(await numbersWithWork(db, ["iA"])).toEqual([]);
  });

  it("two messages of the same millisecond leave in the order they were accepted, not by id", async () => {
    // createdAt is timestamp(3): a burst accepted within one millisecond ties, and the ids are
    // random; the insertion order (seq) decides. "z-first" sorts after "a-second" by id.
    await queue("z-first", 5000);
    await queue("a-second", 5000);
    expect((await peekNext(db, "iA"))?.id).toBe("z-first");
    const first = await claimNext(db, "iA");
    expect(first?.id).toBe("z-first");
    await markSent(db, first!);
    const second = await claimNext(db, "iA");
    expect(second?.id).toBe("a-second");
    await markSent(db, second!);
    expect(await claimNext(db, "iA")).toBeUndefined();
  });

  it("writes are scoped to the message's location", async () => {
    await queue("m3", 3000);
    const c = await claimNext(db, "iA");
    await markSent(db, { id: c!.id, locationId: "locB" });
    await requeue(db, { id: c!.id, locationId: "locB" }, "x");
    await failOutbound(db, async () => {}, { id: c!.id, locationId: "locB", ghlMessageId: null }, "x");
    expect((await db.message.findUniqueOrThrow({ where: { id: "m3" } })).status).toBe("SENDING");
  });

  it("reads of a message for the GHL queue are scoped to its location", async () => {
    await db.message.create({
      data: {
        id: "in1",
        locationId: "locA",
        instanceId: "iA",
        contactId: "cA",
        direction: "INBOUND",
        source: "WHATSAPP",
        status: "RECEIVED",
        text: "hi",
        waMessageId: "W-in1",
      },
    });
    expect(await loadInboundToPost(db, { locationId: "locA", messageId: "in1" })).toMatchObject({
      id: "in1",
      contact: { id: "cA" },
    });
    expect(await loadInboundToPost(db, { locationId: "locB", messageId: "in1" })).toBeNull();
    expect(await positionOf(db, "locA", "in1")).toMatchObject({ contactId: "cA", status: "RECEIVED" });
    expect(await positionOf(db, "locB", "in1")).toBeNull();
  });
});

describe("receipts racing the send loop", () => {
  /**
   * `db`, except that the first read of a message by WhatsApp id is followed, before its answer
   * is used, by the send loop's own markSent: what happens when an error ack or a delivery lands
   * while `sendMessage` is returning (seen in wa-error-acks: a 463 left as SENT).
   */
  function racingDb(m: { id: string; locationId: string }): Db {
    let raced = false;
    const message = new Proxy(db.message, {
      get(target, key, receiver) {
        if (key !== "findUnique") return Reflect.get(target, key, receiver);
        return async (args: Parameters<typeof db.message.findUnique>[0]) => {
          const row = await target.findUnique(args);
          if (!raced) {
            raced = true;
            await markSent(db, m);
          }
          return row;
        };
      },
    });
    return new Proxy(db, { get: (t, k, r) => (k === "message" ? message : Reflect.get(t, k, r)) });
  }

  it("an error ack read while SENDING still fails the message after markSent, and GHL is told", async () => {
    await queue("r1", 5000, { status: "SENDING", waMessageId: "WA-R1", ghlMessageId: "g-r1" });
    const jobs: GhlJob[] = [];
    await applyReceipts(
      racingDb({ id: "r1", locationId: "locA" }),
      "iA",
      [{ waMessageId: "WA-R1", status: 0, code: "463" }],
      async (j) => void jobs.push(j),
    );
    const row = await db.message.findUniqueOrThrow({ where: { id: "r1" } });
    expect(row.status).toBe("FAILED");
    expect(row.error).toMatch(/463/);
    expect(jobs).toMatchObject([{ kind: "status", ghlMessageId: "g-r1", status: "failed" }]);
  });

  it("a delivery read while SENDING is not lost to markSent either", async () => {
    await queue("r2", 6000, { status: "SENDING", waMessageId: "WA-R2", ghlMessageId: "g-r2" });
    const jobs: GhlJob[] = [];
    await applyReceipts(
      racingDb({ id: "r2", locationId: "locA" }),
      "iA",
      [{ waMessageId: "WA-R2", status: 3 }],
      async (j) => void jobs.push(j),
    );
    expect((await db.message.findUniqueOrThrow({ where: { id: "r2" } })).status).toBe("DELIVERED");
    expect(jobs).toMatchObject([{ kind: "status", ghlMessageId: "g-r2", status: "delivered" }]);
  });

  it("a message the governor holds waits as WAITING until its time, passed over by the claim, GHL told pending", async () => {
    await db.message.deleteMany({ where: { instanceId: "iA" } });
    await queue("h1", 10_000, { ghlMessageId: "g-h1" });
    await queue("h2", 11_000);
    const now = new Date("2026-12-03T15:00:00Z");
    const until = new Date("2026-12-04T00:00:00Z");
    const c = await claimNext(db, "iA", now);
    expect(c).toMatchObject({ id: "h1", attempts: 1 });
    const told: GhlJob[] = [];
    await holdOutbound(db, async (j) => told.push(j), c!, until, "wa-01 has reached today's limit");
    expect(await db.message.findUniqueOrThrow({ where: { id: "h1" } })).toMatchObject({
      status: "WAITING",
      notBefore: until,
      error: "wa-01 has reached today's limit",
      attempts: 0,
    });
    expect(told).toEqual([
      {
        kind: "status",
        locationId: "locA",
        messageId: "h1",
        ghlMessageId: "g-h1",
        status: "pending",
        error: "wa-01 has reached today's limit",
      },
    ]);
    // only from SENDING: held again it changes nothing and tells nobody
    await holdOutbound(db, async (j) => told.push(j), c!, until, "again");
    expect(told).toHaveLength(1);

    // the next message goes first; the held one keeps its place for when its time comes
    const c2 = await claimNext(db, "iA", now);
    expect(c2).toMatchObject({ id: "h2", more: false });
    await markSent(db, c2!, { newChat: true, at: now });
    expect(await db.message.findUniqueOrThrow({ where: { id: "h2" } })).toMatchObject({
      status: "SENT",
      sentAt: now,
      newChat: true,
    });
    expect(await claimNext(db, "iA", now)).toBeUndefined();
    expect(await numbersWithWork(db, ["iA"], now)).toEqual([]);
    // waiting for its number does not count the hours it was held
    const held = (await peekNext(db, "iA"))!;
    expect(held.notBefore).toEqual(until);
    expect(waitedTooLong(held, until.getTime() + 59 * 60_000)).toBe(false);
    expect(waitedTooLong({ ...held, notBefore: null }, now.getTime())).toBe(true);

    const later = new Date("2026-12-04T00:00:01Z");
    expect(await numbersWithWork(db, ["iA"], later)).toEqual(["iA"]);
    expect(await claimNext(db, "iA", later)).toMatchObject({ id: "h1", status: "SENDING", attempts: 1 });
  });

  it("a send whose receipt came first still gets its sentAt (what the governor counts)", async () => {
    await queue("s1", 12_000, { status: "SENDING", waMessageId: "WA-S1" });
    await db.message.update({ where: { id: "s1" }, data: { status: "DELIVERED" } });
    const at = new Date("2026-12-03T16:00:00Z");
    await markSent(db, { id: "s1", locationId: "locA" }, { newChat: true, at });
    expect(await db.message.findUniqueOrThrow({ where: { id: "s1" } })).toMatchObject({
      status: "DELIVERED",
      sentAt: at,
      newChat: true,
    });
    // another location's id changes nothing
    await queue("s2", 13_000, { status: "SENDING" });
    await markSent(db, { id: "s2", locationId: "locB" });
    expect(await db.message.findUniqueOrThrow({ where: { id: "s2" } })).toMatchObject({
      status: "SENDING",
      sentAt: null,
    });
  });
});
