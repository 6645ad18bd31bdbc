import { downloadMediaMessage, proto, type WAMessage, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import { control, endClient, linkByQr, waitFor } from "./test-kit";

const ME = "15552220001";
const ALICE = "15552220002";
const BOB = "15552220003";
let sim: WaSimulator;
let sock: WASocket;

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  ({ sock } = await linkByQr(sim, ME));
  await control(sim, "POST", "/__sandbox/phones", { phone: ALICE, name: "Alice" });
  await control(sim, "POST", "/__sandbox/phones", { phone: BOB, name: "Bob" });
}, 30_000); // linking takes < 1 s, but the default 10 s hook timeout is tight on a loaded 2-core box
afterAll(async () => {
  endClient(sock);
  await sim.close();
});

async function inboxEntry(phone: string, id: string): Promise<InboxEntry> {
  for (let i = 0; i < 50; i++) {
    const found = (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${phone}/inbox`)).body.find(
      (e) => e.id === id,
    );
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`message ${id} never reached ${phone}`);
}

const statusOf =
  (id: string, status: number) => (u: { key: { id?: string | null }; update: { status?: number | null } }[]) =>
    u.some((x) => x.key.id === id && x.update.status === status);

describe("messages between the real client and simulated contacts", () => {
  it("text: the contact decrypts it; receipts make the client emit delivered, then read", async () => {
    // Baileys folds a receipt into its own buffered upsert when both land within ~100 ms; a real
    // phone is never that fast, so wait until the client has emitted its own copy first
    const own = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some(
        (m) => m.key.fromMe && m.message?.extendedTextMessage?.text === "Hello Alice, your order shipped",
      ),
    );
    const sent = (await sock.sendMessage(`${ALICE}@s.whatsapp.net`, {
      text: "Hello Alice, your order shipped",
    })) as WAMessage;
    await own;
    const entry = await inboxEntry(ALICE, sent.key.id as string);
    expect(entry).toMatchObject({ from: ME, text: "Hello Alice, your order shipped" });

    const delivered = waitFor(
      sock,
      "messages.update",
      statusOf(sent.key.id as string, proto.WebMessageInfo.Status.DELIVERY_ACK),
    );
    await control(sim, "POST", `/__sandbox/phones/${ALICE}/receipts`, { messageIds: [sent.key.id], type: "delivered" });
    await delivered;
    const read = waitFor(sock, "messages.update", statusOf(sent.key.id as string, proto.WebMessageInfo.Status.READ));
    await control(sim, "POST", `/__sandbox/phones/${ALICE}/receipts`, { messageIds: [sent.key.id], type: "read" });
    await read;
  });

  it("image, voice note and document: uploaded to the media host, decrypted intact by the contact", async () => {
    const image = Buffer.from("\x89PNG simulated image bytes");
    const voice = Buffer.from("OggS simulated opus voice note");
    const doc = Buffer.from("%PDF-1.4 simulated invoice");
    const a = (await sock.sendMessage(`${ALICE}@s.whatsapp.net`, {
      image,
      mimetype: "image/png",
      caption: "the photo",
    })) as WAMessage;
    const b = (await sock.sendMessage(`${ALICE}@s.whatsapp.net`, {
      audio: voice,
      mimetype: "audio/ogg; codecs=opus",
      ptt: true,
      seconds: 3,
    })) as WAMessage;
    const c = (await sock.sendMessage(`${ALICE}@s.whatsapp.net`, {
      document: doc,
      mimetype: "application/pdf",
      fileName: "invoice.pdf",
    })) as WAMessage;

    const img = await inboxEntry(ALICE, a.key.id as string);
    expect(img.media).toMatchObject({ type: "image", mimetype: "image/png", caption: "the photo", intact: true });
    expect(Buffer.from(img.media?.base64 ?? "", "base64")).toEqual(image);
    const ptt = await inboxEntry(ALICE, b.key.id as string);
    expect(ptt.media).toMatchObject({ type: "audio", ptt: true, intact: true });
    expect(Buffer.from(ptt.media?.base64 ?? "", "base64")).toEqual(voice);
    const pdf = await inboxEntry(ALICE, c.key.id as string);
    expect(pdf.media).toMatchObject({
      type: "document",
      fileName: "invoice.pdf",
      mimetype: "application/pdf",
      intact: true,
    });
    expect(Buffer.from(pdf.media?.base64 ?? "", "base64")).toEqual(doc);
  });

  it("a contact's text (pkmsg, then msg) and image reach messages.upsert decrypted", async () => {
    const upsert = (text: string) =>
      waitFor(
        sock,
        "messages.upsert",
        (u) => u.type === "notify" && u.messages.some((m) => m.message?.conversation === text),
      );
    let next = upsert("first from Bob");
    const r1 = await control<{ id: string }>(sim, "POST", `/__sandbox/phones/${BOB}/send`, {
      to: ME,
      text: "first from Bob",
    });
    const m1 = (await next).messages[0];
    expect(m1.key).toMatchObject({ id: r1.body.id, remoteJid: `${BOB}@s.whatsapp.net`, fromMe: false });
    expect(m1.pushName).toBe("Bob");
    next = upsert("second from Bob");
    await control(sim, "POST", `/__sandbox/phones/${BOB}/send`, { to: ME, text: "second from Bob" });
    await next;

    const photo = Buffer.from("JFIF simulated photo from Bob");
    const gotImage = waitFor(sock, "messages.upsert", (u) => u.messages.some((m) => !!m.message?.imageMessage));
    await control(sim, "POST", `/__sandbox/phones/${BOB}/send`, {
      to: ME,
      media: { type: "image", mimetype: "image/jpeg", base64: photo.toString("base64"), caption: "see this" },
    });
    const m3 = (await gotImage).messages[0];
    expect(m3.message?.imageMessage?.caption).toBe("see this");
    expect(await downloadMediaMessage(m3, "buffer", {})).toEqual(photo);
  });

  it("a contact addressed by LID arrives with its LID jid and its phone number alongside", async () => {
    const carol = "15552220004";
    const created = await control<{ lid: string }>(sim, "POST", "/__sandbox/phones", { phone: carol, name: "Carol" });
    const got = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => m.message?.conversation === "hi via lid"),
    );
    await control(sim, "POST", `/__sandbox/phones/${carol}/send`, { to: ME, text: "hi via lid", asLid: true });
    const m = (await got).messages[0];
    expect(m.key.remoteJid).toBe(created.body.lid);
    expect(m.key.remoteJidAlt).toBe(`${carol}@s.whatsapp.net`);

    // and the client can answer that contact; the reply is decrypted on Carol's phone
    const reply = (await sock.sendMessage(created.body.lid, { text: "answer to lid" })) as WAMessage;
    expect((await inboxEntry(carol, reply.key.id as string)).text).toBe("answer to lid");
  });

  it("a contact that hides its number arrives LID-addressed without sender_pn, and can be answered", async () => {
    const hana = "15552220005";
    const created = await control<{ lid: string; hidePhone: boolean }>(sim, "POST", "/__sandbox/phones", {
      phone: hana,
      name: "Hana",
      hidePhone: true,
    });
    expect(created.body.hidePhone).toBe(true);
    let attrs: Record<string, string> = {};
    const onMessage = (n: { attrs: Record<string, string> }) => {
      if (n.attrs.from === created.body.lid) attrs = n.attrs;
    };
    sock.ws.on("CB:message", onMessage);
    const got = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => m.message?.conversation === "only my lid"),
    );
    await control(sim, "POST", `/__sandbox/phones/${hana}/send`, { to: ME, text: "only my lid" });
    const m = (await got).messages[0];
    sock.ws.off("CB:message", onMessage);
    expect(attrs).toMatchObject({ from: created.body.lid, addressing_mode: "lid" });
    expect(attrs.sender_pn).toBeUndefined();
    expect(m.key.remoteJid).toBe(created.body.lid);
    expect(m.key.remoteJidAlt).toBeUndefined();
    const reply = (await sock.sendMessage(created.body.lid, { text: "answer by lid only" })) as WAMessage;
    expect((await inboxEntry(hana, reply.key.id as string)).text).toBe("answer by lid only");
  });

  it("refuses to send to a number with no linked device", async () => {
    const res = await control<{ error: { code: string } }>(sim, "POST", `/__sandbox/phones/${BOB}/send`, {
      to: "15559999999",
      text: "nobody",
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("not_linked");
  });
});
