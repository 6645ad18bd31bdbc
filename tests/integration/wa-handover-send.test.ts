import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import { startWaSimulator } from "@/sandbox/whatsapp/server";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { makeMessagingWorker, simCall, until, watchEvents } from "./helpers/wa-fixture";

// A number handed over (rebalance or drain) while its queue is being sent: the message in flight
// (claimed, waiting out its pacing gap) is not sent by the old owner after the handover; every
// message reaches the phone once, under one WhatsApp id, in order, from the new owner
// (docs/architecture.md#sharing-numbers-between-workers).
const NUMBER = "15554450001";
const CONTACT = "15554459999";
let db: Db;
let dbUrl: string;
let sim: Awaited<ReturnType<typeof startWaSimulator>>;
let redis: Redis;

beforeAll(async () => {
  dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  db = createDb(dbUrl, 6);
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db.location.create({ data: { id: "locH", name: "H" } });
  await db.instance.create({ data: { id: "ih", locationId: "locH", name: "wa-01" } });
  await simCall(sim, "POST", "/__sandbox/phones", { phone: NUMBER });
  await simCall(sim, "POST", "/__sandbox/phones", { phone: CONTACT });
});
afterAll(async () => {
  await redis?.quit();
  await sim?.close();
  await db?.$disconnect();
});

type Inbox = { id: string; text?: string }[];
const inbox = () => simCall<Inbox>(sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`);

function worker(id: string, textDelayMs: number) {
  return makeMessagingWorker({ db, redis, sim: sim as never, dbUrl }, id, { textDelayMs, pollMs: 200 });
}

// no retry: the first attempt links the number, so a second could only time out waiting for a QR
describe("a number handed over mid-queue", { retry: 0 }, () => {
  it("sends the message in flight once, from the new owner, in its place", async () => {
    const a = worker("hand-a", 1500);
    const b = worker("hand-b", 20);
    try {
      const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locH");
      await a.start();
      const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
      await simCall(sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
      await until("ONLINE", async () => (await db.instance.findUnique({ where: { id: "ih" } }))?.status === "ONLINE");
      await ev.close();
      await b.start(); // one number, two workers: it stays with a (its share)

      const texts = Array.from({ length: 6 }, (_, i) => `queued ${i}`);
      for (const t of texts) await acceptOutbound(db, redis, { locationId: "locH", ghlMessageId: `H-${t}`, phone: `+${CONTACT}`, text: t, attachments: [], source: "GHL" });
      await publishOutboundQueued(redis, "ih");
      await until("two out from a", async () => (await inbox()).length >= 2, 20_000, 50);
      // the third is claimed now, waiting out a's 1.5 s gap: hand the number over
      await until("one in flight", async () => (await db.message.count({ where: { instanceId: "ih", status: "SENDING" } })) === 1, 5000, 20);
      expect(a.m.owned()).toEqual(["ih"]);
      expect(await a.m.drain(10_000)).toBe(true);
      // a has sent nothing more since it let go
      const atHandover = (await inbox()).length;
      await until("b owns it", async () => b.m.owned().includes("ih") && (await redis.get("gw:lease:ih")) === "hand-b", 15_000);

      const all = await until("all 6 on the phone", async () => {
        const got = await inbox();
        return new Set(got.map((m) => m.text)).size === 6 ? got : undefined;
      }, 20_000);
      expect(atHandover).toBeLessThan(6);
      expect(all.map((m) => m.text)).toEqual(texts);
      const rows = await db.message.findMany({ where: { instanceId: "ih", direction: "OUTBOUND" }, orderBy: { createdAt: "asc" } });
      await until("every row SENT", async () => (await db.message.count({ where: { instanceId: "ih", status: "SENT" } })) === 6, 10_000);
      // each row's WhatsApp id is the one the phone has
      expect(rows.map((r) => r.waMessageId)).toEqual(all.map((m) => m.id));
      // the one in flight went out once: claimed by a (given back unsent at the handover), then by b
      const after = await db.message.findMany({ where: { instanceId: "ih", direction: "OUTBOUND" } });
      expect(Math.max(...after.map((r) => r.attempts))).toBeLessThanOrEqual(2);
      const devices = await simCall<{ phone: string; pairings: number; maxConcurrentConnections: number }[]>(sim, "GET", "/__sandbox/devices");
      expect(devices.find((d) => d.phone === NUMBER)).toMatchObject({ pairings: 1, maxConcurrentConnections: 1 });
    } finally {
      await a.close().catch(() => {});
      await b.close();
    }
  });
});
