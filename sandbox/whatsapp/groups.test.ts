import { downloadMediaMessage, type WAMessage, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GroupMessage } from "./groups";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import { control, endClient, linkByQr, waitFor } from "./test-kit";

// Groups with the real Baileys client: metadata as rc14 asks it, members' messages with sender
// keys (the distribution message first, then skmsg alone), and the client's own group sends.
const ME = "15554440001";
const ALICE = "15554440002";
const BOB = "15554440003"; // shares only its LID
const OUTSIDER = "15554440009";
let sim: WaSimulator;
let sock: WASocket;
let group: { id: string; subject: string };
let lids: Record<string, string> = {};

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  ({ sock } = await linkByQr(sim, ME));
  for (const [phone, name, hidePhone] of [
    [ALICE, "Alice", false],
    [BOB, "Bob", true],
    [OUTSIDER, "Olga", false],
  ] as const) {
    lids[phone] = (
      await control<{ lid: string }>(sim, "POST", "/__sandbox/phones", { phone, name, hidePhone })
    ).body.lid;
  }
  lids[ME] = (await control<{ phone: string; lid: string }[]>(sim, "GET", "/__sandbox/phones")).body.find(
    (p) => p.phone === ME,
  )!.lid;
  group = (
    await control<{ id: string; subject: string }>(sim, "POST", "/__sandbox/groups", {
      subject: "Night shift",
      members: [ALICE, ME, BOB],
    })
  ).body;
}, 30_000);
afterAll(async () => {
  endClient(sock);
  await sim.close();
});

const upsertWith = (text: string) =>
  waitFor(sock, "messages.upsert", (u) =>
    u.messages.some((m) => (m.message?.conversation ?? m.message?.extendedTextMessage?.text) === text),
  ).then(
    (u) =>
      u.messages.find((m) => (m.message?.conversation ?? m.message?.extendedTextMessage?.text) === text) as WAMessage,
  );

async function inboxEntry(phone: string, id: string): Promise<InboxEntry> {
  for (let i = 0; i < 100; i++) {
    const found = (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${phone}/inbox`)).body.find(
      (e) => e.id === id,
    );
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`message ${id} never reached ${phone}`);
}

describe("groups", () => {
  it("answers rc14's metadata query: subject, LID-addressed members with their phones, the creator as admin", async () => {
    expect(group.id).toMatch(/^120363\d{12}@g\.us$/);
    const meta = await sock.groupMetadata(group.id);
    expect(meta).toMatchObject({ id: group.id, subject: "Night shift", addressingMode: "lid", size: 3 });
    expect(meta.participants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: lids[ALICE], phoneNumber: `${ALICE}@s.whatsapp.net`, admin: "superadmin" }),
        expect.objectContaining({ id: lids[ME], phoneNumber: `${ME}@s.whatsapp.net` }),
        expect.objectContaining({ id: lids[BOB], phoneNumber: undefined }),
      ]),
    );
    const all = await sock.groupFetchAllParticipating();
    expect(Object.keys(all)).toEqual([group.id]);
  });

  it("refuses the metadata of a group the account is not in (403) and of an unknown one (404)", async () => {
    const other = (
      await control<{ id: string }>(sim, "POST", "/__sandbox/groups", {
        subject: "Not yours",
        members: [ALICE, OUTSIDER],
      })
    ).body;
    await expect(sock.groupMetadata(other.id)).rejects.toMatchObject({ message: "forbidden", data: 403 });
    await expect(sock.groupMetadata("120363999999999999@g.us")).rejects.toMatchObject({
      message: "item-not-found",
      data: 404,
    });
  });

  it("a member's messages: the first brings its sender key (pkmsg + skmsg), the next is skmsg alone", async () => {
    const stanzas: { attrs: Record<string, string>; encs: string[] }[] = [];
    const onMessage = (n: { attrs: Record<string, string>; content?: unknown }) => {
      if (n.attrs.from === group.id)
        stanzas.push({
          attrs: n.attrs,
          encs: (n.content as { tag: string; attrs: { type: string } }[])
            .filter((c) => c.tag === "enc")
            .map((c) => c.attrs.type),
        });
    };
    sock.ws.on("CB:message", onMessage);
    let got = upsertWith("who takes Saturday?");
    const sent = await control<{ id: string; devices: number }>(sim, "POST", `/__sandbox/groups/${group.id}/send`, {
      from: ALICE,
      text: "who takes Saturday?",
    });
    expect(sent.body.devices).toBe(1);
    const first = await got;
    expect(first.key).toMatchObject({
      id: sent.body.id,
      remoteJid: group.id,
      participant: lids[ALICE],
      participantAlt: `${ALICE}@s.whatsapp.net`,
      fromMe: false,
    });
    expect(first.pushName).toBe("Alice");
    got = upsertWith("anyone?");
    await control(sim, "POST", `/__sandbox/groups/${group.id}/send`, { from: ALICE, text: "anyone?" });
    await got;
    sock.ws.off("CB:message", onMessage);
    expect(stanzas.map((s) => s.encs)).toEqual([["pkmsg", "skmsg"], ["skmsg"]]);
    expect(stanzas[0].attrs).toMatchObject({
      addressing_mode: "lid",
      participant: lids[ALICE],
      participant_pn: `${ALICE}@s.whatsapp.net`,
      notify: "Alice",
    });
    // the other member's phone has them too, and the group's log
    expect((await inboxEntry(BOB, sent.body.id)).chatJid).toBe(group.id);
    const log = (await control<GroupMessage[]>(sim, "GET", `/__sandbox/groups/${group.id}/messages`)).body;
    expect(log.map((m) => [m.from, m.text])).toEqual([
      [ALICE, "who takes Saturday?"],
      [ALICE, "anyone?"],
    ]);
  });

  it("a member that shares only its LID: participant is its LID, no participant_pn", async () => {
    const got = upsertWith("I can, from 10");
    await control(sim, "POST", `/__sandbox/groups/${group.id}/send`, { from: BOB, text: "I can, from 10" });
    const m = await got;
    expect(m.key.participant).toBe(lids[BOB]);
    expect(m.key.participantAlt).toBeUndefined();
  });

  it("the client's sends reach every member's phone, the first and the later ones (sender key kept)", async () => {
    const a = (await sock.sendMessage(group.id, { text: "Bob takes it, thanks" })) as WAMessage;
    const b = (await sock.sendMessage(group.id, { text: "and Sunday is closed" })) as WAMessage;
    for (const phone of [ALICE, BOB]) {
      expect(await inboxEntry(phone, a.key.id!)).toMatchObject({
        from: ME,
        chatJid: group.id,
        text: "Bob takes it, thanks",
      });
      expect(await inboxEntry(phone, b.key.id!)).toMatchObject({
        from: ME,
        chatJid: group.id,
        text: "and Sunday is closed",
      });
    }
    // a phone outside the group never sees it
    expect((await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${OUTSIDER}/inbox`)).body).toEqual([]);
    const log = (await control<GroupMessage[]>(sim, "GET", `/__sandbox/groups/${group.id}/messages`)).body;
    expect(log.slice(-2).map((m) => m.text)).toEqual(["Bob takes it, thanks", "and Sunday is closed"]);
  });

  it("media both ways, and receipts from the group naming the member", async () => {
    const photo = Buffer.from("\x89PNG the roster");
    // Baileys folds a receipt into its own buffered upsert when both land within ~100 ms (a real
    // phone is never that fast): the client's own copy first, then the receipt
    const own = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => m.key.fromMe && m.message?.imageMessage?.caption === "roster"),
    );
    const sent = (await sock.sendMessage(group.id, {
      image: photo,
      mimetype: "image/png",
      caption: "roster",
    })) as WAMessage;
    await own;
    const entry = await inboxEntry(ALICE, sent.key.id!);
    expect(entry.media).toMatchObject({ type: "image", caption: "roster", intact: true });
    expect(Buffer.from(entry.media!.base64!, "base64")).toEqual(photo);
    const read = waitFor(sock, "message-receipt.update", (u) =>
      u.some((r) => r.key.id === sent.key.id && !!r.receipt.readTimestamp),
    );
    await control(sim, "POST", `/__sandbox/phones/${ALICE}/receipts`, { messageIds: [sent.key.id], type: "read" });
    expect((await read).find((r) => r.key.id === sent.key.id)?.receipt.userJid).toBe(lids[ALICE]);

    const got = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => !!m.message?.imageMessage && m.key.remoteJid === group.id),
    );
    await control(sim, "POST", `/__sandbox/groups/${group.id}/send`, {
      from: ALICE,
      media: {
        type: "image",
        mimetype: "image/jpeg",
        base64: Buffer.from("JFIF ok").toString("base64"),
        caption: "got it",
      },
    });
    const m = (await got).messages[0];
    expect(m.message?.imageMessage?.caption).toBe("got it");
    expect(m.message?.imageMessage?.mimetype).toBe("image/jpeg");
    expect(String(await downloadMediaMessage(m, "buffer", {}))).toBe("JFIF ok");
  });

  it("members removed: the companions are told (w:gp2), the removed phone no longer gets the group, a removed number cannot send", async () => {
    const told = waitFor(sock, "group-participants.update", (u) => u.id === group.id && u.action === "remove");
    const after = (
      await control<{ members: { phone: string }[] }>(sim, "POST", `/__sandbox/groups/${group.id}/members`, {
        remove: [BOB],
      })
    ).body;
    expect(after.members.map((m) => m.phone)).toEqual([ALICE, ME]);
    expect((await told).participants.map((p) => (typeof p === "string" ? p : p.id))).toEqual([lids[BOB]]);
    expect((await sock.groupMetadata(group.id)).size).toBe(2);
    const sent = (await sock.sendMessage(group.id, { text: "Bob has left" })) as WAMessage;
    expect((await inboxEntry(ALICE, sent.key.id!)).text).toBe("Bob has left");
    expect(
      (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${BOB}/inbox`)).body.some(
        (e) => e.id === sent.key.id,
      ),
    ).toBe(false);
    expect(
      (await control(sim, "POST", `/__sandbox/groups/${group.id}/send`, { from: BOB, text: "still here?" })).status,
    ).toBe(409);

    await control(sim, "POST", `/__sandbox/groups/${group.id}/members`, { remove: [ME] });
    await expect(sock.sendMessage(group.id, { text: "am I still in?" })).rejects.toMatchObject({ data: 403 });
  });

  it("control errors: a non-member cannot write, an unknown group is 404", async () => {
    expect(
      (await control(sim, "POST", `/__sandbox/groups/${group.id}/send`, { from: OUTSIDER, text: "hi" })).status,
    ).toBe(409);
    expect((await control(sim, "GET", "/__sandbox/groups/120363000000000000/messages")).status).toBe(404);
    expect((await control(sim, "POST", "/__sandbox/groups", { subject: "", members: [] })).status).toBe(400);
  });
});
