import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { type SimDevice, simCall, startMessagingFixture, until, watchEvents } from "./helpers/wa-fixture";

// Messages both ways through the real Baileys client, the session manager and the WhatsApp
// simulator: queued GHL message → the contact's phone; receipts → GHL jobs; the contact's text
// and image → stored once, media kept, GHL jobs.
const NUMBER = "15552220001";
const CONTACT = "15552229999";
let db: Db;
let sim: Fixture["sim"];
let redis: Redis;
const jobs: GhlJob[] = [];
let worker: Fixture["worker"];
let messaging: Fixture["messaging"];
let fixture: Fixture | undefined;
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;

beforeAll(async () => {
  fixture = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "msg-worker",
    pool: 6,
    notifyGhl: async (j) => void jobs.push(j),
    log: process.env.WA_TEST_LOG
      ? pino({ level: "debug" }, pino.destination({ dest: `${process.env.WA_TEST_LOG}.msg`, sync: true }))
      : undefined,
    // a short watchdog: a socket that is healthy must outlive it many times over
    manager: { watchdogMs: 1500 },
  });
  ({ db, sim, redis, worker, messaging } = fixture);
  await db.location.create({ data: { id: "locM", name: "M" } });
  await db.instance.create({ data: { id: "im", locationId: "locM", name: "wa-01" } });
  await simCall(sim, "POST", "/__sandbox/phones", { phone: NUMBER });
  await simCall(sim, "POST", "/__sandbox/phones", { phone: CONTACT, name: "Bea" });
});
afterAll(async () => {
  await fixture?.close();
});

describe("messages through the real client", () => {
  it("links the number", async () => {
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locM");
    await worker.m.start();
    const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
    await simCall(sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
    await until("ONLINE", async () => (await db.instance.findUnique({ where: { id: "im" } }))?.status === "ONLINE");
    await ev.close();
  });

  it("keeps one healthy connection: no watchdog restarts (offline notifications may come before open)", async () => {
    const device = async () =>
      (await simCall<SimDevice[]>(sim, "GET", "/__sandbox/devices")).find((d) => d.phone === NUMBER)!;
    const before = await device();
    await new Promise((r) => setTimeout(r, 5000)); // more than three watchdog periods
    const after = await device();
    expect(after.connected).toBe(true);
    expect(after.logins).toBe(before.logins);
    expect(after.connections).toBe(before.connections);
  });

  it("sends a queued GHL message to the contact's phone, and reports delivered then read", async () => {
    const r = await acceptOutbound(db, redis, {
      locationId: "locM",
      ghlMessageId: "G-1",
      ghlContactId: "c",
      phone: `+${CONTACT}`,
      text: "Your appointment is at 10",
      attachments: [],
      source: "GHL",
    });
    await publishOutboundQueued(redis, "im");
    const got = await until(
      "the contact's inbox",
      async () =>
        (await simCall<{ id: string; text?: string }[]>(sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`)).find(
          (m) => m.text === "Your appointment is at 10",
        ),
      30_000,
    );
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id } });
    expect(row.status).toBe("SENT");
    expect(row.waMessageId).toBe(got.id);
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/receipts`, { messageIds: [got.id], type: "delivered" });
    await until("delivered", async () => jobs.some((j) => j.kind === "status" && j.status === "delivered"), 15_000);
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/receipts`, { messageIds: [got.id], type: "read" });
    await until("read", async () => jobs.some((j) => j.kind === "status" && j.status === "read"), 15_000);
    expect((await db.message.findUniqueOrThrow({ where: { id: r.id } })).status).toBe("READ");
  });

  it("stores the contact's text and image once each, with the image kept for GHL", async () => {
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/send`, { to: NUMBER, text: "Can we make it 11?" });
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/send`, {
      to: NUMBER,
      media: {
        type: "image",
        mimetype: "image/png",
        base64: Buffer.from("fake-png-bytes").toString("base64"),
        caption: "map",
      },
    });
    await until("two inbound jobs", async () => jobs.filter((j) => j.kind === "inbound").length >= 2, 20_000);
    const rows = await db.message.findMany({
      where: { locationId: "locM", direction: "INBOUND" },
      orderBy: { createdAt: "asc" },
      include: { contact: true },
    });
    expect(rows.map((m) => m.text)).toEqual(["Can we make it 11?", "map"]);
    expect(rows[0].contact?.phone).toBe(`+${CONTACT}`);
    const media = rows[1].mediaRef as { mediaId: string; mimetype: string };
    const blob = await db.mediaBlob.findUniqueOrThrow({ where: { id: media.mediaId } });
    expect(Buffer.from(blob.data).toString()).toBe("fake-png-bytes");
  });

  it("stores a message another worker spooled (Postgres was away there), on the worker holding the number", async () => {
    const now = Date.now();
    const before = jobs.filter((j) => j.kind === "inbound").length;
    const message = {
      key: { remoteJid: `${CONTACT}@s.whatsapp.net`, id: "SPOOLED-ELSEWHERE", fromMe: false },
      message: { conversation: "sent while your database was down" },
      pushName: "Bea",
      messageTimestamp: Math.floor(now / 1000),
    };
    await messaging.spool.put({
      instanceId: "im",
      locationId: "locM",
      message: message as never,
      tries: 1,
      firstAt: now,
      nextAt: now,
    });
    // the spool's timer (every second) finds it: this worker holds "im"
    await until(
      "the spooled message stored",
      async () => db.message.findFirst({ where: { waMessageId: "SPOOLED-ELSEWHERE" } }),
      10_000,
    );
    await until("its GHL job", async () => jobs.filter((j) => j.kind === "inbound").length > before, 5_000);
    expect(await messaging.spool.size()).toBe(0);
  });
});
