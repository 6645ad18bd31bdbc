import { type Server } from "node:http";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { type GhlSimulator } from "@/sandbox/ghl/server";
import { ghlWithDelivery } from "./helpers/ghl-delivery";
import { installedGhlCall, serialGhlQueue } from "./helpers/ghl-serial-queue";
import { linkNumberByQr, simCall, startMessagingFixture, until } from "./helpers/wa-fixture";

// A WhatsApp contact that shares only its LID, through the real Baileys client, the WhatsApp
// simulator and the GHL simulator: its messages reach one GHL contact created without a phone;
// when its phone becomes known, that same contact (here and in GHL) gets it; GHL's reply to it
// reaches its phone at its LID.
const LOC = "SunriseDental0000001";
const NUMBER = "15553330001";
const CONTACT = "15553339999";
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
let fixture: Fixture | undefined;
let ghl: GhlSimulator;
let delivery: Server;
let jobErrors: unknown[] = [];
let notifyGhl: (j: GhlJob) => Promise<void>;

type GhlContact = { id: string; phone?: string; name?: string };
type Inbound = { message?: string; contactId: string; altId?: string };
const ghlControl = async <T>(path: string): Promise<T> =>
  (await fetch(`${ghl.url}/__sandbox${path}`)).json() as Promise<T>;
const ghlContacts = async () => (await ghlControl<{ contacts: GhlContact[] }>(`/locations/${LOC}/contacts`)).contacts;
const ghlInbound = async () => (await ghlControl<{ messages: Inbound[] }>(`/locations/${LOC}/inbound`)).messages;

beforeAll(async () => {
  ({ ghl, delivery } = await ghlWithDelivery({ to: () => fixture!, seed: true }));
  const call = await installedGhlCall(ghl, LOC);
  ({ notifyGhl, errors: jobErrors } = serialGhlQueue(ghl, call, () => fixture!.db));
  fixture = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "lid-worker",
    pool: 6,
    notifyGhl,
    log: pino({ level: "silent" }),
  });
  await fixture.db.location.create({ data: { id: LOC, name: "Sunrise Dental" } });
  await fixture.db.instance.create({ data: { id: "il", locationId: LOC, name: "wa-01" } });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: NUMBER });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: CONTACT, name: "Lia", hidePhone: true });
});
afterAll(async () => {
  await fixture?.close();
  await ghl?.close();
  delivery?.closeAllConnections();
  await new Promise<void>((r) => (delivery ? delivery.close(() => r()) : r()));
});

describe("a contact that shares only its LID", () => {
  let localId = "";
  let ghlId = "";

  it("links the number", async () => {
    await linkNumberByQr(fixture!, LOC, NUMBER, "il");
  });

  it("writes twice: both messages in GHL once, under one GHL contact without a phone", async () => {
    const { db, sim } = fixture!;
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/send`, { to: NUMBER, text: "Hi, it's Lia" });
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/send`, { to: NUMBER, text: "Do you open on Saturday?" });
    await until("both in GHL", async () => (await ghlInbound()).length >= 2, 30_000);
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
    const inbound = await ghlInbound();
    expect(inbound.map((m) => m.message)).toEqual(["Hi, it's Lia", "Do you open on Saturday?"]);
    const contacts = await ghlContacts();
    expect(contacts).toHaveLength(1);
    expect(contacts[0].phone).toBeUndefined();
    expect(contacts[0].name).toBe("Lia");
    expect(new Set(inbound.map((m) => m.contactId))).toEqual(new Set([contacts[0].id]));
    const local = await db.contact.findMany({ where: { locationId: LOC } });
    expect(local).toHaveLength(1);
    expect(local[0]).toMatchObject({
      phone: null,
      ghlContactId: contacts[0].id,
      waJid: expect.stringMatching(/^\d+@lid$/),
    });
    expect(local[0].waLid).toBe(local[0].waJid);
    [localId, ghlId] = [local[0].id, contacts[0].id];
    expect(jobErrors).toEqual([]);
  });

  it("gets GHL's reply at its LID", async () => {
    const { db, sim } = fixture!;
    const r = (await (
      await fetch(`${ghl.url}/__sandbox/locations/${LOC}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ contactId: ghlId, message: "Yes, 9 to 1" }),
      })
    ).json()) as { deliveryStatus: number };
    expect(r.deliveryStatus).toBe(200);
    const got = await until(
      "the contact's inbox",
      async () =>
        (await simCall<{ text?: string; chatJid: string }[]>(sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`)).find(
          (m) => m.text === "Yes, 9 to 1",
        ),
      30_000,
    );
    expect(got.chatJid).toMatch(/@lid$/);
    const sent = await db.message.findFirstOrThrow({ where: { locationId: LOC, direction: "OUTBOUND" } });
    expect(sent).toMatchObject({ contactId: localId, status: "SENT" });
  });

  it("shares its phone and writes again: the same contact, here and in GHL, now with the phone", async () => {
    const { db, sim } = fixture!;
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/reveal`);
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/send`, { to: NUMBER, text: "My number is this one" });
    await until("the third in GHL", async () => (await ghlInbound()).length >= 3, 30_000);
    await until("the GHL contact's phone", async () => (await ghlContacts())[0]?.phone === `+${CONTACT}`, 10_000);
    const contacts = await ghlContacts();
    expect(contacts).toHaveLength(1);
    expect(contacts[0]).toMatchObject({ id: ghlId, phone: `+${CONTACT}` });
    expect((await ghlInbound()).map((m) => m.contactId)).toEqual([ghlId, ghlId, ghlId]);
    const local = await db.contact.findMany({ where: { locationId: LOC } });
    expect(local).toHaveLength(1);
    expect(local[0]).toMatchObject({ id: localId, phone: `+${CONTACT}`, ghlContactId: ghlId, ghlPhone: `+${CONTACT}` });
    expect(await db.message.count({ where: { locationId: LOC, contactId: localId } })).toBe(4);
    expect(jobErrors).toEqual([]);
  });

  it("gets the next reply from GHL too, now addressed by phone", async () => {
    const { sim } = fixture!;
    const r = (await (
      await fetch(`${ghl.url}/__sandbox/locations/${LOC}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phone: `+${CONTACT}`, message: "Thanks Lia" }),
      })
    ).json()) as { deliveryStatus: number; contactId: string };
    expect(r).toMatchObject({ deliveryStatus: 200, contactId: ghlId });
    await until(
      "the contact's inbox",
      async () =>
        (await simCall<{ text?: string }[]>(sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`)).find(
          (m) => m.text === "Thanks Lia",
        ),
      30_000,
    );
    expect(await fixture!.db.contact.count({ where: { locationId: LOC } })).toBe(1);
  });
});
