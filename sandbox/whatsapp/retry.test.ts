import type { BinaryNode, WAMessage, WAMessageKey, WASocket, proto } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import { connectClient, control, endClient, linkByQr, until, waitOpen, type ClientOptions, type MemoryAuth } from "./test-kit";

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
  sock.ws.on("CB:receipt", (n: BinaryNode) => { if (n.attrs.type === "retry") retries++; });
  return { sock, retries: () => retries };
}

/** What an app keeps of what it sent, for getMessage. */
function store(): { opts: ClientOptions; keep(m: WAMessage): void } {
  const sent = new Map<string, proto.IMessage>();
  return {
    keep: (m) => { if (m.key.id && m.message) sent.set(m.key.id, m.message); },
    opts: { enableRecentMessageCache: false, getMessage: async (key: WAMessageKey) => sent.get(key.id ?? "") },
  };
}

const inbox = async () => (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${GINA}/inbox`)).body;
const copies = async (id: string) => (await inbox()).filter((e) => e.id === id).length;
const undecryptable = (count: number) => control(sim, "POST", "/__sandbox/faults", { kind: "undecryptable", phone: GINA, count });

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
