import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { OutboundSender, type SendSocket } from "@/worker/messaging/outbound-sender";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The queue logic of the sender (order, pacing, exactly-once ids, offline waiting). The real
// Baileys client against the WhatsApp simulator is exercised by the end-to-end tests.
let db: Db;
let redis: Redis;
const sent: { instanceId: string; jid: string; content: Record<string, unknown>; id: string; at: number }[] = [];
const ghl: GhlJob[] = [];
const online = new Map<string, boolean>();
const noWhatsApp = new Set<string>();
let failNext = 0;

const fakeSocket = (instanceId: string): SendSocket => ({
  async sendMessage(jid, content, { messageId }) {
    if (failNext > 0) {
      failNext--;
      throw new Error("socket hiccup");
    }
    sent.push({ instanceId, jid, content, id: messageId, at: Date.now() });
  },
  async onWhatsApp(jid) {
    return [{ jid, exists: !noWhatsApp.has(jid) }];
  },
  async sendPresenceUpdate(type, jid) {
    presence.push(`${type}:${jid}`);
  },
});
const presence: string[] = [];

const cfg = {
  TEXT_DELAY_MS: 150,
  MEDIA_DELAY_MS_MIN: 0,
  MEDIA_DELAY_MS_MAX: 0,
  MEDIA_URL_ALLOWED_ORIGINS: [] as string[],
};
let sender: OutboundSender;

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 4);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db.location.create({ data: { id: "locA", name: "A", settings: { maxWaitMinutes: 1 } } });
  await db.instance.createMany({
    data: [
      { id: "n1", locationId: "locA", name: "wa-01" },
      { id: "n2", locationId: "locA", name: "wa-02" },
    ],
  });
  sender = new OutboundSender({
    db,
    redis,
    cfg,
    log: pino({ level: "silent" }),
    pollMs: 100,
    sockets: (id) => ({ sock: fakeSocket(id), online: online.get(id) ?? true }),
    notifyGhl: async (j) => ghl.push(j),
  });
});
beforeEach(() => {
  sent.length = 0;
  ghl.length = 0;
});
afterAll(async () => {
  sender.stopAll();
  await db.$disconnect();
  await redis.quit();
});

const queue = (phone: string, text: string, instanceName = "wa-01") =>
  acceptOutbound(db, redis, {
    locationId: "locA",
    ghlMessageId: `g-${text}-${Math.random()}`,
    phone,
    text,
    attachments: [],
    source: "GHL",
    instanceName,
  });

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("OutboundSender", () => {
  it("sends a number's messages in order, paced by TEXT_DELAY_MS, with the id stored before sending", async () => {
    for (let i = 0; i < 4; i++) await queue("+15550000001", `m${i}`);
    sender.start("n1");
    await until(() => sent.length === 4);
    expect(sent.map((s) => s.content.text)).toEqual(["m0", "m1", "m2", "m3"]);
    // slots are 150 ms apart; a send may leave a few ms after its slot (event-loop jitter on a
    // loaded machine), so single gaps and the span get that much slack — without pacing the four
    // sends would be a few ms apart in total
    for (let i = 1; i < 4; i++) expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(110);
    expect(sent[3].at - sent[0].at).toBeGreaterThanOrEqual(3 * 150 - 40);
    // the last one is marked SENT right after its send returns
    const rows = () => db.message.findMany({ where: { instanceId: "n1" }, orderBy: { createdAt: "asc" } });
    await until(async () => (await rows()).every((r) => r.status === "SENT"));
    expect((await rows()).map((r) => r.waMessageId)).toEqual(sent.map((s) => s.id));
  });

  it("keeps one number's backlog from delaying another", async () => {
    cfg.TEXT_DELAY_MS = 400; // n1's six messages take >= 2 s; n2's one must not wait for them
    try {
      for (let i = 0; i < 6; i++) await queue("+15550000002", `slow${i}`);
      await queue("+15550000003", "fast", "wa-02");
      const t0 = Date.now();
      sender.wake("n1");
      sender.start("n2");
      await until(() => sent.some((s) => s.content.text === "fast"));
      const fastAt = sent.find((s) => s.content.text === "fast")!.at;
      await until(() => sent.filter((s) => String(s.content.text).startsWith("slow")).length === 6);
      // n1's loop was already polling, so its first send may precede t0: measure from that send
      const slow = sent.filter((s) => String(s.content.text).startsWith("slow"));
      const firstSlowAt = Math.min(slow[0].at, t0);
      expect(slow.at(-1)!.at - slow[0].at).toBeGreaterThanOrEqual(5 * 400 - 10);
      expect(fastAt - firstSlowAt).toBeLessThan(1000);
    } finally {
      cfg.TEXT_DELAY_MS = 150;
    }
  });

  it("re-sends under the same WhatsApp id after a failed attempt (no second copy with a new id)", async () => {
    failNext = 1;
    const r = await queue("+15550000004", "retry-me");
    sender.wake("n1");
    await until(async () => (await db.message.findUniqueOrThrow({ where: { id: r.id } })).status === "SENT", 15_000);
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id } });
    expect(row.attempts).toBe(2);
    expect(sent.filter((s) => s.content.text === "retry-me").map((s) => s.id)).toEqual([row.waMessageId]);
  });

  it("fails clearly for a number without WhatsApp and tells GHL", async () => {
    noWhatsApp.add("15550000005@s.whatsapp.net");
    const r = await queue("+15550000005", "nobody");
    sender.wake("n1");
    await until(() => ghl.length === 1);
    expect(ghl[0]).toMatchObject({
      kind: "status",
      status: "failed",
      messageId: r.id,
      error: "+15550000005 does not have WhatsApp",
    });
    expect((await db.message.findUniqueOrThrow({ where: { id: r.id } })).status).toBe("FAILED");
  });

  it("holds messages as WAITING while the number is offline, sends them when it is back", async () => {
    online.set("n1", false);
    const r = await queue("+15550000006", "patience");
    sender.wake("n1");
    await until(async () => (await db.message.findUniqueOrThrow({ where: { id: r.id } })).status === "WAITING");
    expect(sent.some((s) => s.content.text === "patience")).toBe(false);
    online.set("n1", true);
    sender.wake("n1");
    await until(() => sent.some((s) => s.content.text === "patience"));
  });

  it("fails a message that waited longer than the location's maximum", async () => {
    online.set("n1", false);
    const r = await queue("+15550000007", "too-late");
    await db.message.update({ where: { id: r.id }, data: { createdAt: new Date(Date.now() - 2 * 60_000) } });
    sender.wake("n1");
    await until(() => ghl.some((g) => "messageId" in g && g.messageId === r.id));
    expect((await db.message.findUniqueOrThrow({ where: { id: r.id } })).error).toMatch(/offline too long/);
    online.set("n1", true);
  });
});

describe("going idle", () => {
  it("a message queued while the previous one is on its way is sent at once, not at the next sweep", async () => {
    // a sender whose sweep would come only after a minute: only the wake-up can make it in time
    await db.instance.create({ data: { id: "n3", locationId: "locA", name: "wa-03" } });
    const mine: string[] = [];
    let second: Promise<unknown> | undefined;
    const slow = new OutboundSender({
      db,
      redis,
      cfg: { ...cfg, TEXT_DELAY_MS: 0 },
      log: pino({ level: "silent" }),
      pollMs: 60_000,
      notifyGhl: async () => {},
      sockets: () => ({
        online: true,
        sock: {
          async sendMessage(_jid, content) {
            mine.push(String(content.text));
            if (!second) {
              // queued (and the loop woken, as the Redis publish does) while this send is in flight
              second = queue("+15550000012", "second", "wa-03").then(() => slow.wake("n3"));
              await second;
            }
          },
          async onWhatsApp(jid) {
            return [{ jid, exists: true }];
          },
        },
      }),
    });
    try {
      await queue("+15550000012", "first", "wa-03");
      slow.start("n3");
      await until(() => mine.length === 2, 3000);
      expect(mine).toEqual(["first", "second"]);
    } finally {
      slow.stopAll();
    }
  });
});

describe("typing simulation", () => {
  it("shows composing, then paused, around a send only when the location turned it on", async () => {
    presence.length = 0;
    await queue("+15550000010", "no typing");
    sender.wake("n1");
    await until(() => sent.some((s) => s.content.text === "no typing"));
    expect(presence).toEqual([]);
    await db.location.update({
      where: { id: "locA" },
      data: { settings: { maxWaitMinutes: 1, typingSimulation: true } },
    });
    await queue("+15550000011", "with typing");
    sender.wake("n1");
    await until(() => sent.some((s) => s.content.text === "with typing"));
    expect(presence).toEqual(["composing:15550000011@s.whatsapp.net", "paused:15550000011@s.whatsapp.net"]);
    await db.location.update({ where: { id: "locA" }, data: { settings: { maxWaitMinutes: 1 } } });
  });
});

describe("applyReceipts", () => {
  it("moves statuses forward only and tells GHL delivered, then read, once each", async () => {
    const { applyReceipts } = await import("@/lib/messages/receipts");
    const r = await queue("+15550000008", "tick");
    sender.wake("n1");
    await until(async () => (await db.message.findUniqueOrThrow({ where: { id: r.id } })).status === "SENT");
    const { waMessageId, ghlMessageId } = await db.message.findUniqueOrThrow({ where: { id: r.id } });
    const notify = async (j: GhlJob) => ghl.push(j);
    await applyReceipts(db, "n1", [{ waMessageId: waMessageId!, status: 3 }], notify);
    await applyReceipts(db, "n1", [{ waMessageId: waMessageId!, status: 3 }], notify);
    await applyReceipts(db, "n1", [{ waMessageId: waMessageId!, status: 4 }], notify);
    await applyReceipts(db, "n1", [{ waMessageId: waMessageId!, status: 3 }], notify);
    expect(ghl.map((j) => (j.kind === "status" ? j.status : j.kind))).toEqual(["delivered", "read"]);
    expect(ghl[0]).toMatchObject({ ghlMessageId, messageId: r.id });
    const row = await db.message.findUniqueOrThrow({ where: { id: r.id } });
    expect(row.status).toBe("READ");
    expect(row.deliveredAt).not.toBeNull();
    expect(row.readAt).not.toBeNull();
    // a receipt for another number's message id changes nothing
    await applyReceipts(db, "n2", [{ waMessageId: waMessageId!, status: 5 }], notify);
    expect(ghl).toHaveLength(2);
  });
});

describe("the warm-up governor in the send loop", () => {
  // a location that lowered the ramp to 25 %: 5 new chats and 50 messages a day for a new number
  beforeAll(async () => {
    await db.location.create({ data: { id: "locG", name: "G", settings: { warmupPercent: 25, maxWaitMinutes: 1 } } });
    await db.instance.createMany({
      data: [
        { id: "g1", locationId: "locG", name: "wa-01", firstLinkedAt: new Date() },
        { id: "g2", locationId: "locG", name: "wa-02", firstLinkedAt: new Date() },
      ],
    });
  });
  const queueG = (phone: string, text: string, instanceName: string) =>
    acceptOutbound(db, redis, {
      locationId: "locG",
      ghlMessageId: `g-${text}`,
      phone,
      text,
      attachments: [],
      source: "GHL",
      instanceName,
    });

  it("takes the location's lower allowance: 5 of 7 new chats go, 2 wait and GHL hears pending", async () => {
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push((await queueG(`+1555000100${i}`, `hello-${i}`, "wa-01")).id);
    sender.start("g1");
    await until(async () => (await db.message.count({ where: { instanceId: "g1", status: "WAITING" } })) === 2);
    await until(() => sent.filter((s) => s.instanceId === "g1").length === 5);
    expect(sent.filter((s) => s.instanceId === "g1").map((s) => s.content.text)).toEqual([
      "hello-0",
      "hello-1",
      "hello-2",
      "hello-3",
      "hello-4",
    ]);
    const reason = "wa-01 has reached today's limit of new chats (5); sends at 00:00 UTC or from another number";
    for (const id of ids.slice(5))
      expect(await db.message.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "WAITING", error: reason });
    expect(ghl.filter((g) => g.kind === "status")).toEqual(
      ids.slice(5).map((id, i) =>
        expect.objectContaining({
          messageId: id,
          ghlMessageId: `g-hello-${5 + i}`,
          status: "pending",
          error: reason,
        }),
      ),
    );
  });

  it("a held message does not fail while its number is offline before its time", async () => {
    const [held] = await db.message.findMany({ where: { instanceId: "g1", status: "WAITING" } });
    // queued long ago (more than the location's 1 minute), held until tomorrow
    await db.message.update({ where: { id: held.id }, data: { createdAt: new Date(Date.now() - 5 * 60_000) } });
    online.set("g1", false);
    sender.wake("g1");
    await new Promise((r) => setTimeout(r, 400));
    expect((await db.message.findUniqueOrThrow({ where: { id: held.id } })).status).toBe("WAITING");
    online.set("g1", true);
  });

  it("once the day's messages are used up, a reply waits too", async () => {
    const c = await db.contact.create({ data: { locationId: "locG", phone: "+15550002000" } });
    await db.message.create({
      data: {
        locationId: "locG",
        instanceId: "g2",
        contactId: c.id,
        direction: "INBOUND",
        source: "WHATSAPP",
        status: "RECEIVED",
        text: "hi",
      },
    });
    // 50 messages already left today from this number
    await db.message.createMany({
      data: Array.from({ length: 50 }, (_, i) => ({
        locationId: "locG",
        instanceId: "g2",
        contactId: c.id,
        direction: "OUTBOUND" as const,
        source: "GHL" as const,
        status: "SENT" as const,
        text: `earlier ${i}`,
        sentAt: new Date(),
      })),
    });
    const r = await queueG("+15550002000", "a reply", "wa-02");
    sender.start("g2");
    await until(async () => (await db.message.findUniqueOrThrow({ where: { id: r.id } })).status === "WAITING");
    expect((await db.message.findUniqueOrThrow({ where: { id: r.id } })).error).toBe(
      "wa-02 has reached today's limit of messages (50); sends at 00:00 UTC or from another number",
    );
    expect(sent.some((s) => s.instanceId === "g2")).toBe(false);
  });

  it("a reply to a contact who wrote first is sent although the new chats are used up", async () => {
    const c = await db.contact.create({ data: { locationId: "locG", phone: "+15550003000" } });
    await db.message.create({
      data: {
        locationId: "locG",
        instanceId: "g1",
        contactId: c.id,
        direction: "INBOUND",
        source: "WHATSAPP",
        status: "RECEIVED",
        text: "hello?",
      },
    });
    await queueG("+15550003000", "yes, hello", "wa-01");
    sender.wake("g1");
    await until(() => sent.some((s) => s.content.text === "yes, hello"));
    expect(await db.message.count({ where: { instanceId: "g1", status: "WAITING" } })).toBe(2);
  });

  it("a first message held as a new chat goes once the contact writes to the number (a reply now)", async () => {
    const held = await db.message.findMany({
      where: { instanceId: "g1", status: "WAITING" },
      include: { contact: true },
      orderBy: [{ createdAt: "asc" }, { seq: "asc" }],
    });
    expect(held.map((m) => m.text)).toEqual(["hello-5", "hello-6"]);
    await db.message.create({
      data: {
        locationId: "locG",
        instanceId: "g1",
        contactId: held[0].contactId,
        direction: "INBOUND",
        source: "WHATSAPP",
        status: "RECEIVED",
        text: "who is this?",
      },
    });
    // no wake-up: the sweep finds it
    await until(() => sent.some((s) => s.content.text === "hello-5"));
    expect(await db.message.findUniqueOrThrow({ where: { id: held[0].id } })).toMatchObject({
      status: "SENT",
      newChat: false,
      error: null,
    });
    expect((await db.message.findUniqueOrThrow({ where: { id: held[1].id } })).status).toBe("WAITING");
    expect(sent.some((s) => s.content.text === "hello-6")).toBe(false);
  });
});
