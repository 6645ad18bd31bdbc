import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importProgress } from "@/lib/history/history-import";
import { setDesiredState } from "@/lib/instances/instances";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { type GhlCall, postInboundToGhl, syncGhlContactPhone } from "@/lib/messages/ghl-post";
import type { GhlSimulator } from "@/sandbox/ghl/server";
import { startHistoryImport } from "@/worker/jobs/history-import";
import { linkNumberByQr, simCall, startMessagingFixture, until, watchEvents } from "./helpers/wa-fixture";
import { ghlContacts, ghlConversations, ghlSimFor, type HistoryChat, pastChats } from "./helpers/wa-history-kit";

// History sync into GHL with the real client: a phone holding 20 chats and 500 messages is
// linked with the import on (the default, 30 days). GHL shows every message once, in its
// conversation, in order, with its own date and direction; progress reaches 100 %. Linking again
// imports nothing twice; a LID-only contact from history that later shows its phone stays one GHL
// contact; a reply to a chat known only from history carries its privacy token while the number
// is restricted; and rc14's warning about disabled history sync is gone from the worker's log.
const LOC = "SunriseDental0000001"; // a location of the GHL simulator's seed
const ME = "15554440001";
const CONTACTS = Array.from({ length: 20 }, (_, i) => `1555444${String(100 + i).padStart(4, "0")}`);
const LIDONLY = CONTACTS[19];
const STRANGER = "15554449999"; // never in history, never wrote: a message to it is a reach-out
const chats: HistoryChat[] = pastChats(CONTACTS, 25, 28);
// one photo among them (its caption is the message's text): imported with its file
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const withPhoto = chats.map((c, i) =>
  i === 1
    ? {
        ...c,
        messages: c.messages.map((m, j) =>
          j === 2 ? { ...m, media: { type: "image", mimetype: "image/png", base64: PNG } } : m,
        ),
      }
    : c,
);
const LIVE = "written while the import runs";
const OLD = { fromMe: false, text: "from 45 days ago", at: new Date(Date.now() - 45 * 86_400_000).toISOString() };
const lines: string[] = [];
const log = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
const cfg = { appUrl: "http://127.0.0.1:3999", conversationProviderId: "prov-1" };

let f: Awaited<ReturnType<typeof startMessagingFixture>>;
let ghlSim: GhlSimulator;
let ghl: GhlCall;
let importer: ReturnType<typeof startHistoryImport>;

beforeAll(async () => {
  f = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "wh1",
    pool: 6,
    log,
    manager: { log },
    // the live GHL queue, in line: live messages and contact phones straight to GHL
    notifyGhl: async (j) => {
      if (j.kind === "inbound")
        await postInboundToGhl(f.db, ghl, { locationId: j.locationId, messageId: j.messageId }, cfg);
      if (j.kind === "contact") await syncGhlContactPhone(f.db, ghl, j.locationId, j.contactId);
    },
  });
  ({ sim: ghlSim, ghl } = await ghlSimFor(LOC, f.redis));
  await f.db.location.create({ data: { id: LOC, name: "History" } });
  await f.db.instance.create({ data: { id: "ih", locationId: LOC, name: "wa-01" } });
  await simCall(f.sim, "POST", "/__sandbox/phones", { phone: ME });
  for (const [i, c] of CONTACTS.entries())
    await simCall(f.sim, "POST", "/__sandbox/phones", { phone: c, name: `Person ${i}`, hidePhone: c === LIDONLY });
  await simCall(f.sim, "POST", "/__sandbox/phones", { phone: LIDONLY, name: "Lia" });
  await simCall(f.sim, "POST", "/__sandbox/phones", { phone: STRANGER });
  await simCall(f.sim, "POST", `/__sandbox/phones/${ME}/history`, {
    chats: [...withPhoto, { with: CONTACTS[0], messages: [OLD] }],
  });
  importer = startHistoryImport({
    db: f.db,
    redis: f.redis,
    ghlFor: () => ghl,
    cfg,
    log,
    workerId: "wh1",
    everyMs: 300,
    postsPer10s: 80,
  });
}, 60_000);
afterAll(async () => {
  await importer?.stop();
  await f?.close();
  await ghlSim?.close();
});

const progress = async () => (await importProgress(f.db, LOC, ["ih"])).get("ih");
const inboundPosts = async () => (await simCallGhl("/inbound")).messages as { altId: string; message: string }[];
const simCallGhl = async (path: string) => (await fetch(`${ghlSim.url}/__sandbox/locations/${LOC}${path}`)).json();

describe("history sync and import", { retry: 0 }, () => {
  it("imports 20 chats and 500 messages: each once, in its conversation, in order, with its date and direction", {
    timeout: 180_000,
  }, async () => {
    await linkNumberByQr(f, LOC, ME, "ih");
    // live traffic during the import does not wait for it
    await until("the import under way", async () => (await inboundPosts()).length >= 100, 120_000, 200);
    const t0 = Date.now();
    await simCall(f.sim, "POST", `/__sandbox/phones/${CONTACTS[5]}/send`, { to: ME, text: LIVE });
    await until(
      "the live message in GHL",
      async () => (await simCallGhl("/inbound")).messages.some((m: { message: string }) => m.message === LIVE),
      10_000,
      50,
    );
    const liveMs = Date.now() - t0;
    expect((await progress())?.state).toBe("IMPORTING");
    expect(liveMs).toBeLessThan(3000);
    await until("the import is done", async () => (await progress())?.state === "DONE", 150_000, 500);
    expect(await progress()).toMatchObject({
      percent: 100,
      chats: { done: 20, total: 20 },
      messages: { done: 500, total: 500 },
    });
    const posts = (await inboundPosts()).filter((p) => p.message !== LIVE);
    expect(posts).toHaveLength(500);
    expect(new Set(posts.map((p) => p.altId)).size).toBe(500);
    // under GHL's limit all along: no call was refused with 429
    expect(
      (await (await fetch(`${ghlSim.url}/__sandbox/calls?locationId=${LOC}`)).json()).calls.filter(
        (c: { status: number }) => c.status === 429,
      ),
    ).toEqual([]);
    process.stdout.write(`history import: live message in GHL ${liveMs} ms after it was sent, mid-import\n`);
    const conversations = await ghlConversations(ghlSim, LOC);
    expect(conversations).toHaveLength(20);
    for (const [i, chat] of chats.entries()) {
      const c = CONTACTS[i];
      const conv = conversations.find((x) => (c === LIDONLY ? x.contact.name === "Lia" : x.contact.phone === `+${c}`));
      expect(conv, `conversation of ${c}`).toBeDefined();
      expect(conv!.messages.filter((m) => m.body !== LIVE).map((m) => [m.body, m.direction, m.dateAdded])).toEqual(
        chat.messages.map((m) => [m.text, m.fromMe ? "outbound" : "inbound", m.at]),
      );
    }
    const photo = conversations
      .find((x) => x.contact.phone === `+${CONTACTS[1]}`)!
      .messages.find((m) => m.body === chats[1].messages[2].text);
    expect(photo?.attachments).toHaveLength(1);
    expect(await f.db.mediaBlob.count()).toBe(1);
    // older than the number's 30 days: left out
    expect(await f.db.message.count({ where: { locationId: LOC, text: OLD.text } })).toBe(0);
    // the LID-only person: one contact, named from the push name, no LID as its phone
    const lia = (await ghlContacts(ghlSim, LOC)).filter((x) => x.name === "Lia");
    expect(lia).toHaveLength(1);
    expect(lia[0].phone ?? null).toBeNull();
  });

  it("linking the same number again imports nothing twice", { timeout: 120_000 }, async () => {
    await simCall(f.sim, "POST", `/__sandbox/phones/${ME}/unlink`, {});
    await until(
      "LOGGED_OUT",
      async () => (await f.db.instance.findUniqueOrThrow({ where: { id: "ih" } })).status === "LOGGED_OUT",
    );
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, LOC);
    try {
      await setDesiredState(f.db, f.redis, LOC, "ih", "RUNNING");
      const qr = await until("a new QR", async () => ev.events.find((e) => e.type === "instance.qr"));
      await simCall(f.sim, "POST", `/__sandbox/phones/${ME}/scan`, { qr: (qr as { qr: string }).qr });
    } finally {
      await ev.close();
    }
    await until(
      "ONLINE again",
      async () => (await f.db.instance.findUniqueOrThrow({ where: { id: "ih" } })).status === "ONLINE",
    );
    const devices = await simCall<{ phone: string; historySyncs: number }[]>(f.sim, "GET", "/__sandbox/devices");
    await until(
      "the second history sync is handled",
      async () =>
        lines.filter((l) => l.includes("history sync notification applied") && l.includes('"syncType":4')).length >= 2,
      30_000,
    );
    expect(devices.filter((d) => d.phone === ME).length).toBe(1);
    await until("the import settles", async () => ["DONE", undefined].includes((await progress())?.state), 30_000);
    expect(await inboundPosts()).toHaveLength(501);
    expect(await f.db.message.count({ where: { locationId: LOC, history: true } })).toBe(500);
  });

  it("a LID-only contact from history whose phone becomes known stays one GHL contact", {
    timeout: 60_000,
  }, async () => {
    await simCall(f.sim, "POST", `/__sandbox/phones/${LIDONLY}/reveal`, {});
    await simCall(f.sim, "POST", `/__sandbox/phones/${LIDONLY}/send`, { to: ME, text: "my phone, at last" });
    await until("the live message in GHL", async () => (await inboundPosts()).length === 502);
    await until("the GHL contact has the phone", async () =>
      (await ghlContacts(ghlSim, LOC)).some((x) => x.phone === `+${LIDONLY}`),
    );
    const people = (await ghlContacts(ghlSim, LOC)).filter((x) => x.name === "Lia" || x.phone === `+${LIDONLY}`);
    expect(people).toHaveLength(1);
    expect(
      await f.db.contact.count({ where: { locationId: LOC, OR: [{ phone: `+${LIDONLY}` }, { name: "Lia" }] } }),
    ).toBe(1);
    const conv = (await ghlConversations(ghlSim, LOC)).find((x) => x.contact.id === people[0].id)!;
    expect(conv.messages.at(-1)?.body).toBe("my phone, at last");
    expect(conv.messages).toHaveLength(26);
  });

  it("a reply to a chat known only from history carries its privacy token on a restricted number", {
    timeout: 60_000,
  }, async () => {
    await simCall(f.sim, "POST", `/__sandbox/phones/${ME}/restrict`, { reachout: "locked" });
    const to = CONTACTS[3];
    await acceptOutbound(f.db, f.redis, {
      locationId: LOC,
      ghlMessageId: "ghl-reply-1",
      phone: `+${to}`,
      text: "answer to an old chat",
      attachments: [],
      source: "GHL",
      instanceName: "wa-01",
    });
    await acceptOutbound(f.db, f.redis, {
      locationId: LOC,
      ghlMessageId: "ghl-cold-1",
      phone: `+${STRANGER}`,
      text: "cold",
      attachments: [],
      source: "GHL",
      instanceName: "wa-01",
    });
    type Inbox = { text?: string; tctoken?: boolean }[];
    const got = await until("the contact has the reply", async () =>
      (await simCall<Inbox>(f.sim, "GET", `/__sandbox/phones/${to}/inbox`)).find(
        (e) => e.text === "answer to an old chat",
      ),
    );
    expect(got.tctoken).toBe(true);
    // the restriction is real: the message to a stranger is refused (463)
    await until(
      "the cold message failed",
      async () => (await f.db.message.findFirst({ where: { ghlMessageId: "ghl-cold-1" } }))?.status === "FAILED",
    );
    expect((await f.db.message.findFirstOrThrow({ where: { ghlMessageId: "ghl-reply-1" } })).status).not.toBe("FAILED");
  });

  it("rc14's warning about disabled history sync is not in the worker's log", () => {
    expect(lines.some((l) => l.includes("history sync notification applied"))).toBe(true);
    expect(lines.filter((l) => l.includes("DISABLING ALL SYNC"))).toEqual([]);
  });
});
