import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { updateInstanceSettings } from "@/lib/instances/instance-settings";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { type GhlSimulator } from "@/sandbox/ghl/server";
import { ghlWithDelivery } from "./helpers/ghl-delivery";
import { installedGhlCall, serialGhlQueue } from "./helpers/ghl-serial-queue";
import { linkNumberByQr, simCall, startMessagingFixture, until } from "./helpers/wa-fixture";

// WhatsApp groups through the real Baileys client, the WhatsApp simulator (sender keys both ways)
// and the GHL simulator: off, a group is ignored; on, it is one GHL conversation on a contact
// named after the group, each member's message prefixed with the member's name (a LID-only member
// too), member media included; what a GHL user writes there reaches every member's phone.
const LOC = "NightShiftClinic0001";
const NUMBER = "15556660001";
const ANA = "15556660002";
const BEN = "15556660003"; // shares only its LID
const CARLA = "15556660004";
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
let fixture: Fixture | undefined;
let ghl: GhlSimulator;
let delivery: Server;
let files: Server;
let filesUrl = "";
let group = "";
let jobErrors: unknown[] = [];
let notifyGhl: (j: GhlJob) => Promise<void>;
const PHOTO = Buffer.from("\x89PNG the weekend roster");

type GhlContact = { id: string; phone?: string; name?: string };
type Inbound = {
  message?: string;
  contactId: string;
  conversationId?: string;
  attachments?: string[];
  direction?: string;
};
type InboxEntry = {
  id: string;
  from: string;
  chatJid: string;
  text?: string;
  media?: { type: string; base64?: string; intact: boolean };
};
const ghlControl = async <T>(path: string): Promise<T> =>
  (await fetch(`${ghl.url}/__sandbox${path}`)).json() as Promise<T>;
const ghlContacts = async () => (await ghlControl<{ contacts: GhlContact[] }>(`/locations/${LOC}/contacts`)).contacts;
const ghlInbound = async () => (await ghlControl<{ messages: Inbound[] }>(`/locations/${LOC}/inbound`)).messages;
const inbox = (phone: string) => simCall<InboxEntry[]>(fixture!.sim, "GET", `/__sandbox/phones/${phone}/inbox`);
const memberWrites = (from: string, body: Record<string, unknown>) =>
  simCall<{ id: string; devices: number }>(fixture!.sim, "POST", `/__sandbox/groups/${group}/send`, { from, ...body });

beforeAll(async () => {
  // where GHL keeps a conversation's attachments (MEDIA_URL_ALLOWED_ORIGINS lists it)
  files = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "image/png", "content-length": PHOTO.length }).end(PHOTO),
  );
  await new Promise<void>((r) => files.listen(0, "127.0.0.1", () => r()));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  ({ ghl, delivery } = await ghlWithDelivery({ to: () => fixture!, seed: false, allowedMediaOrigins: [filesUrl] }));
  await fetch(`${ghl.url}/__sandbox/companies`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: "NightShiftAgency0001", name: "Agency" }),
  });
  await fetch(`${ghl.url}/__sandbox/locations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: LOC, name: "Night Shift Clinic", companyId: "NightShiftAgency0001" }),
  });
  const call = await installedGhlCall(ghl, LOC);
  ({ notifyGhl, errors: jobErrors } = serialGhlQueue(ghl, call, () => fixture!.db));
  fixture = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "groups-worker",
    pool: 6,
    notifyGhl,
    log: pino({ level: "silent" }),
    mediaAllowedOrigins: [filesUrl],
  });
  await fixture.db.location.create({ data: { id: LOC, name: "Night Shift Clinic" } });
  await fixture.db.instance.create({ data: { id: "ig", locationId: LOC, name: "wa-01" } });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: NUMBER });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: ANA, name: "Ana" });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: BEN, name: "Ben", hidePhone: true });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: CARLA, name: "Carla" });
});
afterAll(async () => {
  await fixture?.close();
  await ghl?.close();
  for (const s of [delivery, files]) {
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
});

describe("WhatsApp groups as GHL conversations", () => {
  let groupContactId = "";

  it("links the number; it is in a group with three members", async () => {
    await linkNumberByQr(fixture!, LOC, NUMBER, "ig");
    group = (
      await simCall<{ id: string }>(fixture!.sim, "POST", "/__sandbox/groups", {
        subject: "Weekend roster",
        members: [ANA, NUMBER, BEN, CARLA],
      })
    ).id;
    expect(group).toMatch(/@g\.us$/);
  });

  it("with the switch off (the default), a member's message is received and ignored: nothing in GHL, no error", async () => {
    const { db, sim } = fixture!;
    const sent = await memberWrites(ANA, { text: "not for GHL" });
    expect(sent.devices).toBe(1);
    // the companion took it (acknowledged, nothing queued) and asked for no retry
    await until("acknowledged", async () => {
      const [d] = await simCall<{ unacked: number; offlineQueued: number; retryReceipts: Record<string, number> }[]>(
        sim,
        "GET",
        "/__sandbox/devices",
      );
      return d.unacked === 0 && d.offlineQueued === 0 && Object.keys(d.retryReceipts).length === 0;
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await db.message.count({ where: { locationId: LOC } })).toBe(0);
    expect(await db.contact.count({ where: { locationId: LOC } })).toBe(0);
    expect(await ghlInbound()).toEqual([]);
    expect(jobErrors).toEqual([]);
  });

  it("switched on, a member writes: GHL shows it in the group's conversation, prefixed with the member's name", async () => {
    const { db } = fixture!;
    await updateInstanceSettings(db, LOC, "ig", { groups: true });
    await new Promise((r) => setTimeout(r, 5_500)); // the worker reads the switch at most every 5 s
    await memberWrites(ANA, { text: "who takes Saturday?" });
    await until("in GHL", async () => (await ghlInbound()).length >= 1, 30_000);
    const [posted] = await ghlInbound();
    expect(posted).toMatchObject({ message: "Ana: who takes Saturday?", direction: "inbound" });
    const contacts = await ghlContacts();
    expect(contacts).toHaveLength(1);
    expect(contacts[0].name).toBe("Group: Weekend roster");
    expect(contacts[0].phone).toBeUndefined();
    expect(posted.contactId).toBe(contacts[0].id);
    groupContactId = contacts[0].id;
    const local = await db.contact.findMany({ where: { locationId: LOC } });
    expect(local).toHaveLength(1);
    expect(local[0]).toMatchObject({
      phone: null,
      waLid: null,
      waJid: group,
      waGroupJid: group,
      name: "Group: Weekend roster",
      ghlContactId: groupContactId,
    });
    expect(jobErrors).toEqual([]);
  });

  it("a LID-addressed member, and a member's photo: the same conversation, each with its writer's name", async () => {
    await memberWrites(BEN, { text: "I can, from 10" });
    await memberWrites(CARLA, {
      media: { type: "image", mimetype: "image/png", base64: PHOTO.toString("base64"), caption: "the roster" },
    });
    await until("three in GHL", async () => (await ghlInbound()).length >= 3, 30_000);
    const posted = await ghlInbound();
    expect(posted.map((m) => m.message)).toEqual([
      "Ana: who takes Saturday?",
      "Ben: I can, from 10",
      "Carla: the roster",
    ]);
    expect(new Set(posted.map((m) => m.contactId))).toEqual(new Set([groupContactId]));
    expect(new Set(posted.map((m) => m.conversationId)).size).toBe(1);
    expect(posted[2].attachments).toHaveLength(1);
    const stored = await fixture!.db.message.findFirstOrThrow({ where: { locationId: LOC, type: "image" } });
    expect(stored.mediaRef).toMatchObject({ mimetype: "image/png" });
    expect(await ghlContacts()).toHaveLength(1); // no contact for a member, none from a LID
    expect(jobErrors).toEqual([]);
  });

  it("a GHL user answers in the group's conversation: every member's phone has it, text and photo", async () => {
    const write = async (body: Record<string, unknown>) =>
      (await (
        await fetch(`${ghl.url}/__sandbox/locations/${LOC}/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ contactId: groupContactId, ...body }),
        })
      ).json()) as { deliveryStatus: number };
    expect((await write({ message: "Ben takes Saturday, thanks all" })).deliveryStatus).toBe(200);
    expect((await write({ message: "", attachments: [`${filesUrl}/roster.png`] })).deliveryStatus).toBe(200);
    for (const member of [ANA, BEN, CARLA]) {
      const got = await until(
        `${member}'s inbox`,
        async () => {
          const mine = (await inbox(member)).filter((e) => e.from === NUMBER);
          return mine.length >= 2 ? mine : undefined;
        },
        30_000,
      );
      expect(got.map((e) => e.chatJid)).toEqual([group, group]);
      expect(got[0].text).toBe("Ben takes Saturday, thanks all");
      expect(got[1].media).toMatchObject({ type: "image", intact: true });
      expect(Buffer.from(got[1].media!.base64!, "base64")).toEqual(PHOTO);
    }
    const log = await simCall<{ from: string; text?: string }[]>(
      fixture!.sim,
      "GET",
      `/__sandbox/groups/${group}/messages`,
    );
    expect(log.filter((m) => m.from === NUMBER).map((m) => m.text)).toEqual([
      "Ben takes Saturday, thanks all",
      undefined,
    ]);
    const sent = await fixture!.db.message.findMany({
      where: { locationId: LOC, direction: "OUTBOUND" },
      orderBy: { createdAt: "asc" },
    });
    expect(sent.map((m) => m.status)).toEqual(["SENT", "SENT"]);
    // the echoes of these sends are not posted back to GHL as new messages
    await new Promise((r) => setTimeout(r, 500));
    expect((await ghlInbound()).length).toBe(3);
  });

  it("what the owner writes in the group on the phone shows in GHL as outbound, without a prefix", async () => {
    const before = (await ghlInbound()).length;
    await memberWrites(NUMBER, { text: "Reminder: keys are at the desk" });
    await until("in GHL", async () => (await ghlInbound()).length > before, 30_000);
    const last = (await ghlInbound()).at(-1)!;
    expect(last).toMatchObject({
      message: "Reminder: keys are at the desk",
      direction: "outbound",
      contactId: groupContactId,
    });
    expect((await inbox(ANA)).find((e) => e.text === "Reminder: keys are at the desk")?.chatJid).toBe(group);
  });

  it("switched off again, GHL's reply to the group fails with a reason instead of reaching it", async () => {
    const { db } = fixture!;
    await updateInstanceSettings(db, LOC, "ig", { groups: false });
    const r = (await (
      await fetch(`${ghl.url}/__sandbox/locations/${LOC}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ contactId: groupContactId, message: "should not go" }),
      })
    ).json()) as { deliveryStatus: number };
    expect(r.deliveryStatus).toBe(200);
    const failed = await until("failed", async () =>
      db.message.findFirst({ where: { locationId: LOC, text: "should not go", status: "FAILED" } }),
    );
    expect(failed.error).toMatch(/Groups are off/);
    expect((await inbox(ANA)).some((e) => e.text === "should not go")).toBe(false);
  });

  it("once the number is removed from the group, GHL's reply fails at once with the reason, never retried", async () => {
    const { db, sim } = fixture!;
    await updateInstanceSettings(db, LOC, "ig", { groups: true });
    await simCall(sim, "POST", `/__sandbox/groups/${group}/members`, { remove: [NUMBER] });
    const r = (await (
      await fetch(`${ghl.url}/__sandbox/locations/${LOC}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ contactId: groupContactId, message: "are you there?" }),
      })
    ).json()) as { deliveryStatus: number };
    expect(r.deliveryStatus).toBe(200);
    const failed = await until("failed", async () =>
      db.message.findFirst({ where: { locationId: LOC, text: "are you there?", status: "FAILED" } }),
    );
    expect(failed.error).toMatch(/not a member of the group/);
    expect(failed.attempts).toBe(1);
    expect((await inbox(ANA)).some((e) => e.text === "are you there?")).toBe(false);
  });
});
