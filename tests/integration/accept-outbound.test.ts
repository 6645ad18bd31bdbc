import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { acceptOutbound, type OutboundRequest } from "@/lib/messages/accept-outbound";
import { OUTBOUND_CHANNEL } from "@/lib/messages/outbound-signal";
import { subscribeWhenReady } from "@/lib/redis";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let db: Db;
let redis: Redis;
let sub: Redis;
const woken: string[] = [];

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 4);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  sub = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await subscribeWhenReady(sub, OUTBOUND_CHANNEL);
  sub.on("message", (_c, m) => woken.push(m));
  await db.location.createMany({
    data: [
      { id: "locA", name: "A", settings: { defaultCountry: "US" } },
      { id: "locB", name: "B" },
      { id: "locGone", name: "Gone", installed: false },
      { id: "locEmpty", name: "No numbers" },
    ],
  });
  await db.instance.createMany({
    data: [
      { id: "a1", locationId: "locA", name: "wa-01" },
      { id: "a2", locationId: "locA", name: "wa-02" },
      { id: "b1", locationId: "locB", name: "wa-01" },
    ],
  });
});
afterAll(async () => {
  await db.$disconnect();
  await redis.quit();
  await sub.quit();
});

const req = (o: Partial<OutboundRequest> = {}): OutboundRequest => ({
  locationId: "locA",
  ghlMessageId: `m-${Math.random()}`,
  ghlContactId: "c1",
  phone: "+15550001111",
  text: "hello",
  attachments: [],
  source: "GHL",
  ...o,
});

describe("acceptOutbound (Delivery URL core)", () => {
  it("stores the message as QUEUED on the first number and wakes its worker", async () => {
    const r = await acceptOutbound(db, redis, req({ ghlMessageId: "g-1" }));
    expect(r).toMatchObject({ status: "QUEUED", duplicate: false, instanceId: "a1" });
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id }, include: { contact: true } });
    expect(row).toMatchObject({ locationId: "locA", direction: "OUTBOUND", text: "hello", ghlMessageId: "g-1" });
    expect(row.contact?.phone).toBe("+15550001111");
    await new Promise((res) => setTimeout(res, 50));
    expect(woken).toContain("a1");
  });

  it("answers a repeated messageId with the same message and stores it once, even concurrently", async () => {
    const first = await acceptOutbound(db, redis, req({ ghlMessageId: "g-dup" }));
    const again = await Promise.all([1, 2, 3].map(() => acceptOutbound(db, redis, req({ ghlMessageId: "g-dup" }))));
    for (const a of again) expect(a).toMatchObject({ id: first.id, duplicate: true });
    const race = await Promise.all([1, 2, 3].map(() => acceptOutbound(db, redis, req({ ghlMessageId: "g-race" }))));
    expect(new Set(race.map((r) => r.id)).size).toBe(1);
    expect(await db.message.count({ where: { ghlMessageId: { in: ["g-dup", "g-race"] } } })).toBe(2);
  });

  it("routes to the contact's sticky number, else the location default", async () => {
    await db.location.update({
      where: { id: "locA" },
      data: { settings: { defaultCountry: "US", defaultInstanceId: "a2" } },
    });
    expect((await acceptOutbound(db, redis, req({ phone: "+15550002222" }))).instanceId).toBe("a2");
    await db.contact.update({
      where: { locationId_phone: { locationId: "locA", phone: "+15550002222" } },
      data: { stickyInstanceId: "a1" },
    });
    expect((await acceptOutbound(db, redis, req({ phone: "+15550002222" }))).instanceId).toBe("a1");
    // a sticky id of another tenant's number is ignored
    await db.contact.update({
      where: { locationId_phone: { locationId: "locA", phone: "+15550002222" } },
      data: { stickyInstanceId: "b1" },
    });
    expect((await acceptOutbound(db, redis, req({ phone: "+15550002222" }))).instanceId).toBe("a2");
  });

  it("normalises national numbers with the location's default country", async () => {
    const r = await acceptOutbound(db, redis, req({ phone: "(555) 000-3333" }));
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id }, include: { contact: true } });
    expect(row.contact?.phone).toBe("+15550003333");
  });

  it("fails clearly without a linked number, refuses uninstalled tenants and foreign messageIds", async () => {
    const none = await acceptOutbound(db, redis, req({ locationId: "locEmpty" }));
    expect(none).toMatchObject({ status: "FAILED", instanceId: null });
    expect((await db.message.findUniqueOrThrow({ where: { id: none.id } })).error).toMatch(/No WhatsApp number/);
    await expect(acceptOutbound(db, redis, req({ locationId: "locGone" }))).rejects.toMatchObject({ status: 403 });
    await expect(
      acceptOutbound(db, redis, req({ locationId: "locGone", phone: "555 000 4444" })),
    ).rejects.toMatchObject({ status: 403 });
    await expect(acceptOutbound(db, redis, req({ locationId: "nowhere" }))).rejects.toMatchObject({ status: 403 });
    // a refused call writes nothing: no contact, no message
    expect(await db.contact.count({ where: { locationId: "locGone" } })).toBe(0);
    expect(await db.message.count({ where: { locationId: { in: ["locGone", "nowhere"] } } })).toBe(0);
    await expect(acceptOutbound(db, redis, req({ locationId: "locB", ghlMessageId: "g-1" }))).rejects.toMatchObject({
      status: 403,
    });
    await expect(acceptOutbound(db, redis, req({ text: "", attachments: [] }))).rejects.toMatchObject({ status: 422 });
    // an id already stored is a duplicate whatever the repeat carries
    expect(await acceptOutbound(db, redis, req({ ghlMessageId: "g-1", text: "" }))).toMatchObject({ duplicate: true });
    await expect(acceptOutbound(db, redis, req({ phone: "not a phone" }))).rejects.toMatchObject({ status: 400 });
  });
});
