import type { BinaryNode, proto, WAMessage, WAMessageKey, WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import {
  type ClientOptions,
  connectClient,
  control,
  endClient,
  linkByQr,
  type MemoryAuth,
  memoryAuth,
  until,
  waitOpen,
} from "./test-kit";

const GINA = "15559990009";
let sim: WaSimulator;
const open: WASocket[] = [];

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  await control(sim, "POST", "/__sandbox/phones", { phone: GINA, name: "Gina" });
});
afterAll(async () => {
  for (const s of open) endClient(s);
  await sim.close();
});

/** A linked client restarted with `opts` (linkByQr itself uses the defaults). */
async function client(phone: string, opts: ClientOptions): Promise<{ sock: WASocket; retries: () => number }> {
  const linked: { sock: WASocket; auth: MemoryAuth } = await linkByQr(sim, phone);
  endClient(linked.sock);
  const sock = connectClient(sim, linked.auth, opts);
  open.push(sock);
  await waitOpen(sock);
  let retries = 0;
  sock.ws.on("CB:receipt", (n: BinaryNode) => {
    if (n.attrs.type === "retry") retries++;
  });
  return { sock, retries: () => retries };
}

/** What an app keeps of what it sent, for getMessage. */
function store(): { opts: ClientOptions; keep(m: WAMessage): void } {
  const sent = new Map<string, proto.IMessage>();
  return {
    keep: (m) => {
      if (m.key.id && m.message) sent.set(m.key.id, m.message);
    },
    opts: { enableRecentMessageCache: false, getMessage: async (key: WAMessageKey) => sent.get(key.id ?? "") },
  };
}

const inbox = async () => (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${GINA}/inbox`)).body;
const copies = async (id: string) => (await inbox()).filter((e) => e.id === id).length;
const undecryptable = (count: number) =>
  control(sim, "POST", "/__sandbox/faults", { kind: "undecryptable", phone: GINA, count });

describe("retry receipts", () => {
  it("the contact asks for a retry; a client with getMessage re-encrypts and the message shows once", async () => {
    const s = store();
    const { sock, retries } = await client("15559990001", s.opts);
    expect((await undecryptable(1)).status).toBe(200);
    const sent = (await sock.sendMessage(`${GINA}@s.whatsapp.net`, { text: "second time lucky" })) as WAMessage;
    s.keep(sent);
    await until("the resent copy is decrypted", async () => (await copies(sent.key.id as string)) === 1);
    expect(retries()).toBe(1);
    // a later message proves the phone is past it, and the first one is still there once
    const next = (await sock.sendMessage(`${GINA}@s.whatsapp.net`, { text: "after the retry" })) as WAMessage;
    await until("the next one arrives", async () => (await copies(next.key.id as string)) === 1);
    expect(await copies(sent.key.id as string)).toBe(1);
  });

  it("a second failure brings a fresh key bundle in the retry; still shown once", async () => {
    const s = store();
    const { sock, retries } = await client("15559990002", s.opts);
    await undecryptable(2);
    const sent = (await sock.sendMessage(`${GINA}@s.whatsapp.net`, { text: "third time lucky" })) as WAMessage;
    s.keep(sent);
    await until("the second resend is decrypted", async () => (await copies(sent.key.id as string)) === 1);
    expect(retries()).toBe(2);
  });

  it("a client without getMessage (and without rc14's recent-message cache) cannot answer: never shown", async () => {
    const { sock, retries } = await client("15559990003", { enableRecentMessageCache: false });
    await undecryptable(1);
    const lost = (await sock.sendMessage(`${GINA}@s.whatsapp.net`, { text: "waiting for this message" })) as WAMessage;
    await until("the retry reached the client", () => retries() === 1);
    const next = (await sock.sendMessage(`${GINA}@s.whatsapp.net`, { text: "a later one" })) as WAMessage;
    await until("the later one arrives", async () => (await copies(next.key.id as string)) === 1);
    expect(await copies(lost.key.id as string)).toBe(0);
  });

  it("rc14's recent-message cache (on by default) answers on the same socket without getMessage", async () => {
    const { sock } = await client("15559990004", {});
    await undecryptable(1);
    const sent = (await sock.sendMessage(`${GINA}@s.whatsapp.net`, { text: "from the cache" })) as WAMessage;
    await until("the resent copy is decrypted", async () => (await copies(sent.key.id as string)) === 1);
  });
});

describe("a companion's retry receipt to a phone", () => {
  type Dev = { retryReceipts: Record<string, number>; phone: string };
  const devices = async (phone: string) =>
    (await control<Dev[]>(sim, "GET", "/__sandbox/devices")).body.filter((d) => d.phone === phone);
  const write = (to: string, text: string) =>
    control<{ id: string }>(sim, "POST", `/__sandbox/phones/${GINA}/send`, { to, text });

  it("a companion that lost its session with the contact gets the message again, from a new session", async () => {
    const auth = memoryAuth();
    const sessionIds = new Set<string>();
    const set = auth.keys.set.bind(auth.keys);
    auth.keys.set = async (data) => {
      for (const id of Object.keys(data.session ?? {})) sessionIds.add(id);
      return set(data);
    };
    const { sock } = await linkByQr(sim, "15559990005", auth);
    open.push(sock);
    const got: WAMessage[] = [];
    sock.ev.on("messages.upsert", ({ messages }) => got.push(...messages.filter((m) => m.message?.conversation)));
    const first = (await write("15559990005", "hello")).body.id;
    await until("the first one arrives", () => got.some((m) => m.key.id === first));
    // the companion's Signal session with the contact is gone (a key write lost in a crash)
    const sessions = Object.keys(await auth.keys.get("session", [...sessionIds]));
    expect(sessions.length).toBeGreaterThan(0);
    await auth.keys.set({ session: Object.fromEntries(sessions.map((s) => [s, null])) });
    const second = (await write("15559990005", "after the loss")).body.id;
    await until("the resent copy arrives", () => got.some((m) => m.key.id === second));
    expect(got.filter((m) => m.key.id === second)).toHaveLength(1);
    const [d] = await devices("15559990005");
    expect(d.retryReceipts.resent).toBeGreaterThanOrEqual(1);
    // and the new session carries on
    const third = (await write("15559990005", "and on")).body.id;
    await until("a later one arrives", () => got.some((m) => m.key.id === third));
  });

  it("a garbled fault: the companion cannot decrypt, asks, and gets it again after the phone's delay", async () => {
    const { sock } = await linkByQr(sim, "15559990007");
    open.push(sock);
    const got: { id: string; at: number }[] = [];
    sock.ev.on("messages.upsert", ({ messages }) => {
      for (const m of messages) if (m.message?.conversation) got.push({ id: m.key.id ?? "", at: Date.now() });
    });
    const hello = (await write("15559990007", "hello")).body.id;
    await until("the first one arrives", () => got.some((g) => g.id === hello));
    expect(
      (await control(sim, "POST", "/__sandbox/faults", { kind: "garbled", phone: GINA, count: 1, delayMs: 400 }))
        .status,
    ).toBe(200);
    const t0 = Date.now();
    const lost = (await write("15559990007", "garbled on the way")).body.id;
    const next = (await write("15559990007", "the next one")).body.id;
    await until("both arrive", () => got.some((g) => g.id === lost) && got.some((g) => g.id === next));
    // the next one came first; the garbled one only after the phone's resend
    expect(got.findIndex((g) => g.id === next)).toBeLessThan(got.findIndex((g) => g.id === lost));
    expect(got.find((g) => g.id === lost)!.at - t0).toBeGreaterThanOrEqual(400);
    expect(got.filter((g) => g.id === lost)).toHaveLength(1);
    expect((await devices("15559990007"))[0].retryReceipts.resent).toBe(1);
  });

  it("a message the phone no longer keeps is not resent", async () => {
    const { sock } = await linkByQr(sim, "15559990006");
    open.push(sock);
    const got: string[] = [];
    sock.ev.on("messages.upsert", ({ messages }) => got.push(...messages.map((m) => m.key.id ?? "")));
    const hi = (await write("15559990006", "hi")).body.id;
    await until("delivered", () => got.includes(hi));
    // a retry for an id the phone never sent
    await sock.sendNode({
      tag: "receipt",
      attrs: { id: "3EB0NEVERSENT", type: "retry", to: `${GINA}@s.whatsapp.net` },
      content: [{ tag: "retry", attrs: { count: "1", id: "3EB0NEVERSENT", t: "1", v: "1" } }],
    });
    await until("the phone answered", async () => (await devices("15559990006"))[0].retryReceipts["not-kept"] === 1);
  });
});
