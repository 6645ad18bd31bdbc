import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import type { WAMessage } from "@whiskeysockets/baileys";
import pino from "pino";
import { recordInbound, type InboundWa } from "@/lib/messages/record-inbound";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { handleUpsert } from "@/worker/messaging/inbound-handler";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let db: Db;
beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 2);
  await db.location.create({ data: { id: "locA", name: "A" } });
  await db.instance.createMany({ data: [{ id: "i1", locationId: "locA", name: "wa-01" }, { id: "i2", locationId: "locA", name: "wa-02" }] });
});
afterAll(async () => {
  await db.$disconnect();
});

const wa = (o: Partial<InboundWa> = {}): InboundWa => ({
  locationId: "locA", instanceId: "i1", waMessageId: `W${Math.random()}`, phone: "15550009999",
  jid: "15550009999@s.whatsapp.net", pushName: "Ana", fromMe: false, type: "text", text: "hi", at: new Date(), ...o,
});

describe("recordInbound", () => {
  it("stores a WhatsApp message once, with its contact, and makes that number sticky for the contact", async () => {
    const first = await recordInbound(db, wa({ waMessageId: "W1", instanceId: "i2" }));
    expect(first.created).toBe(true);
    const again = await recordInbound(db, wa({ waMessageId: "W1", instanceId: "i2" }));
    expect(again).toEqual({ id: first.id, created: false, skipped: undefined });
    const contact = await db.contact.findUniqueOrThrow({ where: { locationId_phone: { locationId: "locA", phone: "+15550009999" } } });
    expect(contact).toMatchObject({ name: "Ana", stickyInstanceId: "i2", waJid: "15550009999@s.whatsapp.net" });
    expect(await db.message.count({ where: { waMessageId: "W1" } })).toBe(1);
  });

  it("skips the echo of a message this app sent", async () => {
    await db.message.create({ data: { locationId: "locA", instanceId: "i1", direction: "OUTBOUND", source: "GHL", waMessageId: "OUT1", status: "SENT" } });
    expect(await recordInbound(db, wa({ waMessageId: "OUT1", fromMe: true }))).toMatchObject({ created: false, skipped: "echo" });
  });

  it("records messages typed on the phone itself as outbound from the phone", async () => {
    const r = await recordInbound(db, wa({ waMessageId: "PH1", fromMe: true, pushName: "Owner" }));
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id } });
    expect(row).toMatchObject({ direction: "OUTBOUND", source: "PHONE" });
    // the owner's push name must not rename the contact
    const contact = await db.contact.findUniqueOrThrow({ where: { locationId_phone: { locationId: "locA", phone: "+15550009999" } } });
    expect(contact.name).toBe("Ana");
  });

  it("does not invent a contact from an unresolved LID", async () => {
    expect(await recordInbound(db, wa({ phone: null, jid: "1234567@lid", lid: "1234567@lid" }))).toMatchObject({ skipped: "no-phone" });
  });

  it("stores one row for one WhatsApp id and one contact for one phone, however many arrive at once", async () => {
    const same = await Promise.all(Array.from({ length: 8 }, () => recordInbound(db, wa({ waMessageId: "RACE1", phone: "15550007777", jid: "15550007777@s.whatsapp.net" }))));
    expect(new Set(same.map((r) => r.id)).size).toBe(1);
    expect(same.filter((r) => r.created)).toHaveLength(1);
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => recordInbound(db, wa({ waMessageId: `RACE2-${i}`, phone: "15550006666", jid: "15550006666@s.whatsapp.net" }))));
    expect(many.every((r) => r.created)).toBe(true);
    expect(await db.contact.count({ where: { phone: { in: ["+15550007777", "+15550006666"] } } })).toBe(2);
    const rows = await db.message.findMany({ where: { waMessageId: { startsWith: "RACE" } }, include: { contact: true } });
    expect(rows).toHaveLength(9);
    expect(rows.every((r) => r.direction === "INBOUND" && r.source === "WHATSAPP" && r.status === "RECEIVED" && r.contact?.stickyInstanceId === "i1")).toBe(true);
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
    const m = { key: { remoteJid: "15550005555@s.whatsapp.net", id: "RETRY1", fromMe: false }, message: { conversation: "still here?" }, pushName: "Rui", messageTimestamp: 1_700_000_000 } as unknown as WAMessage;
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
