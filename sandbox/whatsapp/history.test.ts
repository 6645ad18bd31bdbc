import { type BaileysEventMap, proto, toNumber, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HISTORY_CHUNK_MESSAGES } from "./history";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import { connectClient, control, endClient, linkByQr, type MemoryAuth, until, waitOpen } from "./test-kit";

const ME = "15557770001";
const ANN = "15557770002";
const LIDONLY = "15557770003";
const CHATTY = "15557770004";
let sim: WaSimulator;
let sock: WASocket;
let auth: MemoryAuth;
const syncs: BaileysEventMap["messaging-history.set"][] = [];
const base = Date.parse("2026-11-20T10:00:00Z");

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  await control(sim, "POST", "/__sandbox/phones", { phone: ME });
  await control(sim, "POST", "/__sandbox/phones", { phone: ANN, name: "Ann" });
  await control(sim, "POST", "/__sandbox/phones", { phone: LIDONLY, name: "Lia", hidePhone: true });
  const chatty = Array.from({ length: 250 }, (_, i) => ({
    fromMe: i % 3 === 0,
    text: `chatty ${i}`,
    at: new Date(base + i * 60_000).toISOString(),
  }));
  const r = await control<{ chats: number; messages: number }>(sim, "POST", `/__sandbox/phones/${ME}/history`, {
    chats: [
      {
        with: ANN,
        messages: [
          { fromMe: false, text: "hello from Ann", at: "2026-11-01T09:00:00Z" },
          { fromMe: true, text: "hi Ann", at: "2026-11-01T09:05:00Z" },
        ],
      },
      { with: LIDONLY, messages: [{ fromMe: false, text: "I hide my phone", at: "2026-11-02T09:00:00Z" }] },
      { with: CHATTY, messages: chatty },
    ],
  });
  expect(r.body).toEqual({ chats: 3, messages: 253 });
  ({ sock, auth } = await linkByQr(sim, ME, undefined, 10_000, {
    history: true,
    onSocket: (s) => s.ev.on("messaging-history.set", (h) => syncs.push(h)),
  }));
}, 30_000);
afterAll(async () => {
  endClient(sock);
  await sim.close();
});

describe("history sync", () => {
  it("sends the chats in chunks: bootstrap, RECENT up to 100 %, then push names", async () => {
    await until("all syncs processed", () =>
      syncs.some((s) => s.syncType === proto.HistorySync.HistorySyncType.PUSH_NAME),
    );
    const T = proto.HistorySync.HistorySyncType;
    expect(syncs.map((s) => s.syncType)).toEqual([T.INITIAL_BOOTSTRAP, T.RECENT, T.RECENT, T.PUSH_NAME]);
    expect(syncs.filter((s) => s.syncType === T.RECENT).map((s) => s.progress)).toEqual([50, 100]);
    const messages = syncs.flatMap((s) => s.messages);
    expect(messages).toHaveLength(253);
    expect(syncs[0].messages).toHaveLength(HISTORY_CHUNK_MESSAGES);
    expect(new Set(messages.map((m) => m.key.id)).size).toBe(253);
    const ann = messages.filter((m) => m.key.remoteJid === `${ANN}@s.whatsapp.net`);
    expect(
      ann
        .map((m) => [m.key.fromMe, m.message?.conversation, toNumber(m.messageTimestamp!)])
        .sort((a, b) => Number(a[2]) - Number(b[2])),
    ).toEqual([
      [false, "hello from Ann", Date.parse("2026-11-01T09:00:00Z") / 1000],
      [true, "hi Ann", Date.parse("2026-11-01T09:05:00Z") / 1000],
    ]);
    expect(syncs.at(-1)!.contacts).toEqual(expect.arrayContaining([{ id: `${ANN}@s.whatsapp.net`, notify: "Ann" }]));
  });

  it("answers an on-demand request with the chat's older messages", async () => {
    const chatty = syncs
      .flatMap((s) => s.messages)
      .filter((m) => m.key.remoteJid === `${CHATTY}@s.whatsapp.net`)
      .sort((a, b) => toNumber(a.messageTimestamp!) - toNumber(b.messageTimestamp!));
    const pivot = chatty[100];
    // a new socket (same session): rc14 drops history messages one socket has already seen when
    // they pass through its event buffer, and everything the phone holds came in the first sync
    endClient(sock);
    sock = connectClient(sim, auth, { history: true });
    await waitOpen(sock);
    const got = new Promise<BaileysEventMap["messaging-history.set"]>((resolve) => {
      const h = (e: BaileysEventMap["messaging-history.set"]) =>
        e.syncType === proto.HistorySync.HistorySyncType.ON_DEMAND &&
        (sock.ev.off("messaging-history.set", h), resolve(e));
      sock.ev.on("messaging-history.set", h);
    });
    const requestId = await sock.fetchMessageHistory(30, pivot.key, toNumber(pivot.messageTimestamp!) * 1000);
    const e = await got;
    expect(e.peerDataRequestSessionId).toBe(requestId);
    expect(e.messages.map((m) => m.key.id)).toEqual(
      chatty
        .slice(70, 100)
        .reverse()
        .map((m) => m.key.id),
    );
  });

  it("carries LID mappings (not for a LID-only contact) and the chats' privacy tokens", async () => {
    const phones = (await control<{ phone: string; lid: string }[]>(sim, "GET", "/__sandbox/phones")).body;
    const lidOf = (p: string) => phones.find((x) => x.phone === p)!.lid;
    // stored by rc14 from the bootstrap's phoneNumberToLidMappings (its event may drop them when it
    // held the notification in its buffer); none for the contact that hides its phone
    const map = sock.signalRepository.lidMapping;
    expect(await map.getLIDForPN(`${ANN}@s.whatsapp.net`)).toBe(lidOf(ANN));
    expect(await map.getPNForLID(lidOf(LIDONLY))).toBeNull();
    expect(syncs.flatMap((s) => s.contacts).find((c) => c.id === `${ANN}@s.whatsapp.net`)?.lid).toBe(lidOf(ANN));
    expect(syncs.flatMap((s) => s.messages).some((m) => m.key.remoteJid === lidOf(LIDONLY))).toBe(true);
    const annLid = lidOf(ANN);
    await until("Ann's token stored", async () => !!(await auth.keys.get("tctoken", [annLid]))[annLid]);
    // restricted: a message without Ann's token would be refused with 463; the one from history passes
    await control(sim, "POST", `/__sandbox/phones/${ME}/restrict`, { reachout: "locked" });
    const sent = await sock.sendMessage(`${ANN}@s.whatsapp.net`, { text: "answer to an old chat" });
    await until("Ann has it", async () =>
      (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${ANN}/inbox`)).body.some(
        (e) => e.id === sent?.key.id,
      ),
    );
    const got = (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${ANN}/inbox`)).body.find(
      (e) => e.id === sent?.key.id,
    );
    expect(got?.tctoken).toBe(true);
  });
});
