import { type BaileysEventMap, proto, type WAMessage, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import {
  connectClient,
  control,
  dieOnNext,
  endClient,
  linkByQr,
  type MemoryAuth,
  until,
  waitFor,
  waitOpen,
} from "./test-kit";

const ME = "15556660001";
const DANA = "15556660002";
let sim: WaSimulator;
let sock: WASocket;
let auth: MemoryAuth;
const open: WASocket[] = [];

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  ({ sock, auth } = await linkByQr(sim, ME));
  open.push(sock);
  await control(sim, "POST", "/__sandbox/phones", { phone: DANA, name: "Dana" });
}, 30_000); // linking takes < 1 s, but the default 10 s hook timeout is tight on a loaded 2-core box
afterAll(async () => {
  for (const s of open) endClient(s);
  await sim.close();
});

interface DeviceView {
  jid: string;
  connected: boolean;
  offlineQueued: number;
  unacked: number;
}

async function device(): Promise<DeviceView> {
  const d = (await control<DeviceView[]>(sim, "GET", "/__sandbox/devices")).body.find((x) => x.jid.startsWith(ME));
  if (!d) throw new Error("device not linked");
  return d;
}

/** Every message text the socket upserts, with the upsert type, in the order Baileys emits them. */
function record(s: WASocket): { text: string; type: string }[] {
  const seen: { text: string; type: string }[] = [];
  s.ev.on("messages.upsert", (u: BaileysEventMap["messages.upsert"]) => {
    for (const m of u.messages) if (m.message?.conversation) seen.push({ text: m.message.conversation, type: u.type });
  });
  return seen;
}

const danaSays = (text: string) => control(sim, "POST", `/__sandbox/phones/${DANA}/send`, { to: ME, text });
const upserted = (s: WASocket, text: string, type: string) =>
  waitFor(s, "messages.upsert", (u) => u.type === type && u.messages.some((m) => m.message?.conversation === text));

async function relogin(opts = {}): Promise<WASocket> {
  const next = connectClient(sim, auth, opts);
  open.push(next);
  return next;
}

describe("unacknowledged means undelivered", () => {
  it("a message the client never acknowledged is replayed at the next login, once, as append", async () => {
    const seen0 = upserted(sock, "acked before", "notify");
    await danaSays("acked before");
    await seen0;
    await until("the receipt settles the delivery", async () => (await device()).unacked === 0);

    dieOnNext(sock, "message");
    const closed = waitFor(sock, "connection.update", (u) => u.connection === "close");
    await danaSays("never acknowledged");
    await closed;
    await until("the stanza is back in the queue", async () => {
      const d = await device();
      return !d.connected && d.offlineQueued === 1;
    });

    sock = await relogin();
    const seen = record(sock);
    const replayed = upserted(sock, "never acknowledged", "append");
    await waitOpen(sock);
    await replayed;
    // a live message after the replay: once it is in, everything before it has been processed
    const live = upserted(sock, "after the replay", "notify");
    await danaSays("after the replay");
    await live;
    expect(seen.filter((m) => m.text === "never acknowledged")).toEqual([
      { text: "never acknowledged", type: "append" },
    ]);
    expect(seen.some((m) => m.text === "acked before")).toBe(false);
    expect((await device()).offlineQueued).toBe(0);
  });

  it("a read receipt the client never acknowledged is replayed: the status still reaches it", async () => {
    const sent = (await sock.sendMessage(`${DANA}@s.whatsapp.net`, { text: "will you read this?" })) as WAMessage;
    const id = sent.key.id as string;
    await until("Dana has it", async () =>
      (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${DANA}/inbox`)).body.some((e) => e.id === id),
    );

    dieOnNext(sock, "receipt");
    const closed = waitFor(sock, "connection.update", (u) => u.connection === "close");
    await control(sim, "POST", `/__sandbox/phones/${DANA}/receipts`, { messageIds: [id], type: "read" });
    await closed;
    await until("the receipt is back in the queue", async () => (await device()).offlineQueued === 1);

    sock = await relogin();
    const read = waitFor(sock, "messages.update", (u) =>
      u.some((x) => x.key.id === id && x.update.status === proto.WebMessageInfo.Status.READ),
    );
    await waitOpen(sock);
    await read;
    await until("the replayed receipt is acknowledged", async () => (await device()).unacked === 0);
  });
});

describe("offline replay", () => {
  it("messages sent while the client is offline arrive marked offline, as append, in order, once", async () => {
    const closed = waitFor(sock, "connection.update", (u) => u.connection === "close");
    await control(sim, "POST", "/__sandbox/faults", { phone: ME, kind: "drop" });
    await closed;
    const texts = ["offline 1", "offline 2", "offline 3", "offline 4"];
    for (const t of texts) await danaSays(t);
    expect((await device()).offlineQueued).toBe(texts.length);

    sock = await relogin();
    const offlineAttrs: string[] = [];
    sock.ws.on("CB:message", (n: { attrs: Record<string, string> }) => offlineAttrs.push(n.attrs.offline ?? ""));
    const seen = record(sock);
    const last = upserted(sock, "offline 4", "append");
    await waitOpen(sock);
    await last;
    const live = upserted(sock, "live again", "notify");
    await danaSays("live again");
    await live;
    expect(seen).toEqual([...texts.map((text) => ({ text, type: "append" })), { text: "live again", type: "notify" }]);
    expect(offlineAttrs).toEqual(["1", "1", "1", "1", ""]);
  });
});
