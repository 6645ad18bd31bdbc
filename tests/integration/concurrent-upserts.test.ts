import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { recordInbound } from "@/lib/messages/record-inbound";
import { recordInstallWebhook } from "@/lib/tenants/install";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// Writers that create-or-update the same row at the same moment: the install callback and GHL's
// INSTALL webhook (same company), two deliveries for one new contact, two inbound messages from
// one new contact. Prisma's upsert reads then creates, so without care the loser of the race
// fails with a unique violation (seen in CI: the install callback ended on "?error=exchange").
let db: Db;
let redis: Redis;
beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 12);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await db.location.create({ data: { id: "locA", name: "A" } });
  await db.instance.create({ data: { id: "i1", locationId: "locA", name: "wa-01", status: "ONLINE" } });
});
afterAll(async () => {
  await redis.quit();
  await db.$disconnect();
});

const ROUNDS = 15;
const WIDTH = 8;

describe("concurrent create-or-update", () => {
  it("INSTALL webhooks for one new company and location, all at once, all succeed", async () => {
    for (let r = 0; r < ROUNDS; r++) {
      const results = await Promise.allSettled(
        Array.from({ length: WIDTH }, (_, k) =>
          recordInstallWebhook(db, {
            companyId: `co-${r}`,
            locationId: `loc-${r}`,
            companyName: k % 2 ? "Co" : undefined,
          }),
        ),
      );
      expect(
        results.filter((x) => x.status === "rejected").map((x) => String((x as PromiseRejectedResult).reason)),
      ).toEqual([]);
    }
    expect(await db.company.count({ where: { id: { startsWith: "co-" } } })).toBe(ROUNDS);
  });

  it("deliveries for one new contact at once: all accepted, one contact", async () => {
    for (let r = 0; r < ROUNDS; r++) {
      const phone = `+1555010${String(r).padStart(4, "0")}`;
      const results = await Promise.allSettled(
        Array.from({ length: WIDTH }, (_, k) =>
          acceptOutbound(db, redis, {
            locationId: "locA",
            ghlMessageId: `g-${r}-${k}`,
            phone,
            text: "hi",
            attachments: [],
            source: "GHL",
          }),
        ),
      );
      expect(
        results.filter((x) => x.status === "rejected").map((x) => String((x as PromiseRejectedResult).reason)),
      ).toEqual([]);
      expect(await db.contact.count({ where: { locationId: "locA", phone } })).toBe(1);
    }
  });

  it("inbound messages from one new contact at once: all recorded, one contact", async () => {
    for (let r = 0; r < ROUNDS; r++) {
      const digits = `1555020${String(r).padStart(4, "0")}`;
      const results = await Promise.allSettled(
        Array.from({ length: WIDTH }, (_, k) =>
          recordInbound(db, {
            locationId: "locA",
            instanceId: "i1",
            waMessageId: `W-${r}-${k}`,
            phone: digits,
            jid: `${digits}@s.whatsapp.net`,
            fromMe: false,
            type: "text",
            text: "hi",
            at: new Date(),
          }),
        ),
      );
      expect(
        results.filter((x) => x.status === "rejected").map((x) => String((x as PromiseRejectedResult).reason)),
      ).toEqual([]);
      expect(await db.contact.count({ where: { locationId: "locA", phone: `+${digits}` } })).toBe(1);
    }
  });
});
