import type { WAMessage } from "@whiskeysockets/baileys";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { learnLidMapping } from "@/lib/contacts/lid-contacts";
import { keyringFrom } from "@/lib/crypto";
import { createDb, type Db } from "@/lib/db";
import { type InboundWa, recordInbound } from "@/lib/messages/record-inbound";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { handleUpsert, retrySpooled } from "@/worker/messaging/inbound-handler";
import { InboundSpool, SPOOL_KEY } from "@/worker/messaging/inbound-spool";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let db: Db;
beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 2);
  await db.location.create({ data: { id: "locA", name: "A" } });
  await db.instance.createMany({
    data: [
      { id: "i1", locationId: "locA", name: "wa-01" },
      { id: "i2", locationId: "locA", name: "wa-02" },
    ],
  });
});
afterAll(async () => {
  await db.$disconnect();
});

const wa = (o: Partial<InboundWa> = {}): InboundWa => ({
  locationId: "locA",
  instanceId: "i1",
  waMessageId: `W${Math.random()}`,
  phone: "15550009999",
  jid: "15550009999@s.whatsapp.net",
  pushName: "Ana",
  fromMe: false,
  type: "text",
  text: "hi",
  at: new Date(),
  ...o,
});

describe("recordInbound", () => {
  it("stores a WhatsApp message once, with its contact, and makes that number sticky for the contact", async () => {
    const first = await recordInbound(db, wa({ waMessageId: "W1", instanceId: "i2" }));
    expect(first.created).toBe(true);
    const again = await recordInbound(db, wa({ waMessageId: "W1", instanceId: "i2" }));
    expect(again).toEqual({ id: first.id, created: false, skipped: undefined });
    const contact = await db.contact.findUniqueOrThrow({
      where: { locationId_phone: { locationId: "locA", phone: "+15550009999" } },
    });
    expect(contact).toMatchObject({ name: "Ana", stickyInstanceId: "i2", waJid: "15550009999@s.whatsapp.net" });
    expect(await db.message.count({ where: { waMessageId: "W1" } })).toBe(1);
  });

  it("skips the echo of a message this app sent", async () => {
    await db.message.create({
      data: {
        locationId: "locA",
        instanceId: "i1",
        direction: "OUTBOUND",
        source: "GHL",
        waMessageId: "OUT1",
        status: "SENT",
      },
    });
    expect(await recordInbound(db, wa({ waMessageId: "OUT1", fromMe: true }))).toMatchObject({
      created: false,
      skipped: "echo",
    });
  });

  it("records messages typed on the phone itself as outbound from the phone", async () => {
    const r = await recordInbound(db, wa({ waMessageId: "PH1", fromMe: true, pushName: "Owner" }));
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id } });
    expect(row).toMatchObject({ direction: "OUTBOUND", source: "PHONE" });
    // the owner's push name must not rename the contact
    const contact = await db.contact.findUniqueOrThrow({
      where: { locationId_phone: { locationId: "locA", phone: "+15550009999" } },
    });
    expect(contact.name).toBe("Ana");
  });

  it("keeps a contact that shares only its LID by that LID: one contact for its messages", async () => {
    const a = await recordInbound(
      db,
      wa({ waMessageId: "L1", phone: null, jid: "1234567@lid", lid: "1234567:3@lid", pushName: "Lia" }),
    );
    const b = await recordInbound(
      db,
      wa({ waMessageId: "L2", phone: null, jid: "1234567@lid", lid: "1234567@lid", pushName: "Lia" }),
    );
    expect([a.created, b.created]).toEqual([true, true]);
    const rows = await db.contact.findMany({ where: { locationId: "locA", waLid: "1234567@lid" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ phone: null, waJid: "1234567@lid", name: "Lia" });
    expect(await db.message.count({ where: { contactId: rows[0].id } })).toBe(2);
    // a message without phone nor LID still has no one to belong to
    expect(await recordInbound(db, wa({ phone: null, jid: "x@broadcast", lid: null }))).toMatchObject({
      skipped: "no-phone",
    });
  });

  it("gives that same contact the phone when a message carries both, never a second contact", async () => {
    const before = await db.contact.findFirstOrThrow({ where: { locationId: "locA", waLid: "1234567@lid" } });
    await db.contact.update({ where: { id: before.id }, data: { ghlContactId: "g-lia" } });
    const r = await recordInbound(
      db,
      wa({ waMessageId: "L3", phone: "15550004444", jid: "15550004444@s.whatsapp.net", lid: "1234567@lid" }),
    );
    expect(r.linked).toEqual({ kind: "linked", contactId: before.id, ghlContactId: "g-lia" });
    const rows = await db.contact.findMany({
      where: { locationId: "locA", OR: [{ waLid: "1234567@lid" }, { phone: "+15550004444" }] },
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: before.id,
      phone: "+15550004444",
      waJid: "15550004444@s.whatsapp.net",
      ghlContactId: "g-lia",
      ghlPhone: null,
    });
    expect(await db.message.count({ where: { contactId: before.id } })).toBe(3);
    // known by phone now: a later LID-only message (the mapping lost) finds it, and it stays written to at its phone
    await recordInbound(db, wa({ waMessageId: "L4", phone: null, jid: "1234567@lid", lid: "1234567@lid" }));
    expect(await db.contact.findUniqueOrThrow({ where: { id: before.id } })).toMatchObject({
      phone: "+15550004444",
      waJid: "15550004444@s.whatsapp.net",
    });
  });

  it("merges a phone-keyed and a LID-keyed contact of one person into the phone-keyed one", async () => {
    // GHL wrote to the phone first (its contact g-p); WhatsApp wrote from the LID only (its contact g-l)
    const byPhone = await db.contact.create({
      data: { locationId: "locA", phone: "+15550005555", ghlContactId: "g-p", ghlPhone: "+15550005555" },
    });
    await recordInbound(
      db,
      wa({ waMessageId: "M1", phone: null, jid: "7654321@lid", lid: "7654321@lid", pushName: "Max", instanceId: "i2" }),
    );
    const byLid = await db.contact.findFirstOrThrow({ where: { locationId: "locA", waLid: "7654321@lid" } });
    await db.contact.update({ where: { id: byLid.id }, data: { ghlContactId: "g-l" } });
    const r = await recordInbound(
      db,
      wa({
        waMessageId: "M2",
        phone: "15550005555",
        jid: "15550005555@s.whatsapp.net",
        lid: "7654321@lid",
        pushName: null,
      }),
    );
    expect(r.linked).toMatchObject({ kind: "merged", contactId: byPhone.id, drop: byLid.id, leftInGhl: "g-l" });
    expect(await db.contact.findUnique({ where: { id: byLid.id } })).toBeNull();
    expect(await db.contact.findUniqueOrThrow({ where: { id: byPhone.id } })).toMatchObject({
      waLid: "7654321@lid",
      ghlContactId: "g-p",
      ghlPhone: "+15550005555",
      name: "Max",
    });
    expect(await db.message.count({ where: { contactId: byPhone.id, waMessageId: { in: ["M1", "M2"] } } })).toBe(2);
  });

  it("applies WhatsApp's LID mapping to the LID's contact, in its own location only", async () => {
    await db.location.create({ data: { id: "locB", name: "B" } });
    await db.instance.create({ data: { id: "iB", locationId: "locB", name: "wa-01" } });
    await recordInbound(db, wa({ waMessageId: "N1", phone: null, jid: "5551212@lid", lid: "5551212@lid" }));
    await recordInbound(
      db,
      wa({
        locationId: "locB",
        instanceId: "iB",
        waMessageId: "N1",
        phone: null,
        jid: "5551212@lid",
        lid: "5551212@lid",
      }),
    );
    const a = await db.contact.findFirstOrThrow({ where: { locationId: "locA", waLid: "5551212@lid" } });
    await db.contact.update({ where: { id: a.id }, data: { ghlContactId: "g-n" } });
    expect(await learnLidMapping(db, "locA", { lid: "5551212@lid", pn: "15550006666:2@s.whatsapp.net" })).toEqual({
      contactId: a.id,
      phone: "+15550006666",
    });
    expect(await db.contact.findUniqueOrThrow({ where: { id: a.id } })).toMatchObject({ phone: "+15550006666" });
    expect(await db.contact.findFirstOrThrow({ where: { locationId: "locB", waLid: "5551212@lid" } })).toMatchObject({
      phone: null,
    });
    expect(await learnLidMapping(db, "locA", { lid: "5551212@lid", pn: "15550006666@s.whatsapp.net" })).toBeNull(); // nothing new
  });

  it("stores one row for one WhatsApp id and one contact for one phone, however many arrive at once", async () => {
    const same = await Promise.all(
      Array.from({ length: 8 }, () =>
        recordInbound(db, wa({ waMessageId: "RACE1", phone: "15550007777", jid: "15550007777@s.whatsapp.net" })),
      ),
    );
    expect(new Set(same.map((r) => r.id)).size).toBe(1);
    expect(same.filter((r) => r.created)).toHaveLength(1);
    const many = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        recordInbound(db, wa({ waMessageId: `RACE2-${i}`, phone: "15550006666", jid: "15550006666@s.whatsapp.net" })),
      ),
    );
    expect(many.every((r) => r.created)).toBe(true);
    expect(await db.contact.count({ where: { phone: { in: ["+15550007777", "+15550006666"] } } })).toBe(2);
    const rows = await db.message.findMany({
      where: { waMessageId: { startsWith: "RACE" } },
      include: { contact: true },
    });
    expect(rows).toHaveLength(9);
    expect(
      rows.every(
        (r) =>
          r.direction === "INBOUND" &&
          r.source === "WHATSAPP" &&
          r.status === "RECEIVED" &&
          r.contact?.stickyInstanceId === "i1",
      ),
    ).toBe(true);
  });

  it("keeps the media reference and the WhatsApp time", async () => {
    const at = new Date("2026-11-01T10:00:00.000Z");
    const media = { mediaId: "med1", mimetype: "image/png", fileName: "a.png" };
    const r = await recordInbound(db, wa({ waMessageId: "MED1", type: "image", text: null, media, at }));
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id } });
    expect(row).toMatchObject({ type: "image", text: null, mediaRef: media, createdAt: at });
  });
});

describe("inbound messages the worker could not store at once", () => {
  // WhatsApp does not send a message again once this device has received it: a store that fails
  // (Postgres away for a moment) is tried again, not dropped
  it("are stored and queued for GHL when Postgres answers again", async () => {
    let failuresLeft = 3;
    const flaky = new Proxy(db, {
      get(target, key) {
        const v = (target as unknown as Record<string | symbol, unknown>)[key];
        if (key === "$queryRaw") {
          return (...args: unknown[]) => {
            if (failuresLeft > 0) {
              failuresLeft--;
              return Promise.reject(new Error("Connection terminated unexpectedly"));
            }
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as Db;
    const jobs: GhlJob[] = [];
    const m = {
      key: { remoteJid: "15550005555@s.whatsapp.net", id: "RETRY1", fromMe: false },
      message: { conversation: "still here?" },
      pushName: "Rui",
      messageTimestamp: 1_700_000_000,
    } as unknown as WAMessage;
    await handleUpsert(
      { db: flaky, notifyGhl: async (j) => void jobs.push(j), log: pino({ level: "silent" }), retryBaseMs: 20 },
      { locationId: "locA", instanceId: "i1", groups: false, sock: {} },
      [m],
    );
    expect(await db.message.count({ where: { waMessageId: "RETRY1" } })).toBe(0); // the first try failed
    const end = Date.now() + 5000;
    while (jobs.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const row = await db.message.findFirstOrThrow({ where: { waMessageId: "RETRY1" } });
    expect(row).toMatchObject({ text: "still here?", direction: "INBOUND", status: "RECEIVED" });
    expect(jobs).toEqual([{ kind: "inbound", locationId: "locA", messageId: row.id }]);
    expect(failuresLeft).toBe(0);
  });
});

describe("inbound messages spooled while Postgres is away", () => {
  // a database of its own: the spool is one key shared by every worker
  const redis = new Redis(`${process.env.TEST_REDIS_URL}/7`);
  const keys = keyringFrom(process.env.ENCRYPTION_KEY!);
  afterAll(async () => {
    await redis.quit();
  });
  // Postgres away: every statement fails (built lazily: `db` exists once beforeAll ran)
  const down = (): Db =>
    new Proxy(db, {
      get(target, key) {
        if (key === "$queryRaw" || key === "$executeRaw")
          return () => Promise.reject(new Error("Connection terminated unexpectedly"));
        const v = (target as unknown as Record<string | symbol, unknown>)[key];
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as Db;
  const log = pino({ level: process.env.SPOOL_DEBUG ? "debug" : "silent" });
  const ctx = { locationId: "locA", instanceId: "i1", groups: false, sock: {} };

  it("outlive the worker that received them: another process stores them once Postgres is back", async () => {
    await redis.flushdb();
    const jobs: GhlJob[] = [];
    const m = {
      key: { remoteJid: "15550006666@s.whatsapp.net", id: "SPOOL1", fromMe: false },
      message: { conversation: "are you there?" },
      pushName: "Eva",
      messageTimestamp: 1_700_000_100,
    } as unknown as WAMessage;
    await handleUpsert(
      {
        db: down(),
        notifyGhl: async (j) => void jobs.push(j),
        log,
        spool: new InboundSpool(redis, { baseMs: 10, keys }),
      },
      ctx,
      [m],
    );
    // in Redis, not in memory: nothing of this process is needed any more; and encrypted there
    const raw = await redis.hgetall(SPOOL_KEY);
    expect(Object.keys(raw)).toEqual(["i1|SPOOL1"]);
    expect(Object.values(raw)[0]).not.toContain("are you there");
    // not handed out before its next try is due
    expect(await new InboundSpool(redis, { keys }).due((id) => id === "i1", Date.now() - 1000)).toEqual([]);

    // "another worker" (a spool object of its own) while Postgres is still away: tried, kept, later
    const other = new InboundSpool(redis, { baseMs: 10, keys });
    const [e1] = await other.due((id) => id === "i1", Date.now() + 1000);
    expect(
      await retrySpooled({ db: down(), notifyGhl: async (j) => void jobs.push(j), log, spool: other }, ctx, e1),
    ).toBe("again");
    const [e2] = await other.due((id) => id === "i1", Date.now() + 1000);
    expect(e2.tries).toBe(2);
    expect(await other.due((id) => id !== "i1", Date.now() + 1000)).toEqual([]); // only the owner of the number retries it

    // Postgres is back
    expect(await retrySpooled({ db, notifyGhl: async (j) => void jobs.push(j), log, spool: other }, ctx, e2)).toBe(
      "stored",
    );
    const row = await db.message.findFirstOrThrow({ where: { waMessageId: "SPOOL1" } });
    expect(row).toMatchObject({ text: "are you there?", direction: "INBOUND", status: "RECEIVED" });
    expect(row.createdAt.getTime()).toBe(1_700_000_100_000); // WhatsApp's time survived the spool
    expect(jobs).toEqual([{ kind: "inbound", locationId: "locA", messageId: row.id }]);
    expect(await other.size()).toBe(0);
  });

  it("gives a message up, loudly, only after the spool's age limit", async () => {
    await redis.flushdb();
    const spool = new InboundSpool(redis, { baseMs: 10, maxAgeMs: 50, keys });
    const m = {
      key: { remoteJid: "15550007777@s.whatsapp.net", id: "SPOOL2", fromMe: false },
      message: { conversation: "x" },
      messageTimestamp: 1_700_000_200,
    } as unknown as WAMessage;
    await handleUpsert({ db: down(), notifyGhl: async () => {}, log, spool }, ctx, [m]);
    await new Promise((r) => setTimeout(r, 80));
    const [e] = await spool.due(() => true);
    expect(await retrySpooled({ db: down(), notifyGhl: async () => {}, log, spool }, ctx, e)).toBe("given-up");
    expect(await spool.size()).toBe(0);
  });
});
