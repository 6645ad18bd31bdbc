import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { saveMedia } from "@/lib/media/media-store";
import { type GhlCall, postInboundToGhl, pushStatusToGhl } from "@/lib/messages/ghl-post";
import { recordInbound } from "@/lib/messages/record-inbound";
import type { GhlSimulator } from "@/sandbox/ghl/server";
import { contractProblems, control, install, startSim } from "@/sandbox/ghl/test-kit";
import { useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { ghlCaller } from "./helpers/ghl-serial-queue";

// The GHL requests of the message flows, checked by the GHL simulator (which validates them
// against GHL's OpenAPI files) with a plain bearer token (the real client adds refresh/pacing).
const LOC = "SunriseDental0000001";
let db: Db;
let sim: GhlSimulator;
let ghl: GhlCall;
let restore: () => Promise<void>;

beforeAll(async () => {
  const url = await cloneTemplateDb(dbNameFor(import.meta.filename));
  restore = useAppEnv({ databaseUrl: url }); // media URLs are signed with the configured key
  db = createDb(url, 2);
  sim = await startSim({ conversationProviderId: "prov-1" });
  const { tokens } = await install(sim, { locationId: LOC });
  const token = tokens.body.access_token as string;
  ghl = ghlCaller(sim.url, token);
  await db.location.create({ data: { id: LOC, name: "Sunrise Dental" } });
  await db.instance.create({ data: { id: "i1", locationId: LOC, name: "wa-01" } });
});
afterAll(async () => {
  await sim.close();
  await db.$disconnect();
  await restore();
});

const cfg = { appUrl: "http://127.0.0.1:3999", conversationProviderId: "prov-1" };

describe("GHL sync", () => {
  it("posts a WhatsApp reply into the contact's conversation, creating contact and conversation once", async () => {
    const a = await recordInbound(db, {
      locationId: LOC,
      instanceId: "i1",
      waMessageId: "WA1",
      phone: "15557770001",
      jid: "15557770001@s.whatsapp.net",
      pushName: "Ana Díaz",
      fromMe: false,
      type: "text",
      text: "hola!",
      at: new Date(),
    });
    expect(await postInboundToGhl(db, ghl, { locationId: LOC, messageId: a.id }, cfg)).toMatchObject({
      result: "posted",
    });
    expect(await postInboundToGhl(db, ghl, { locationId: LOC, messageId: a.id }, cfg)).toEqual({ result: "already" });
    const b = await recordInbound(db, {
      locationId: LOC,
      instanceId: "i1",
      waMessageId: "WA2",
      phone: "15557770001",
      jid: "15557770001@s.whatsapp.net",
      pushName: "Ana Díaz",
      fromMe: false,
      type: "text",
      text: "again",
      at: new Date(),
    });
    await postInboundToGhl(db, ghl, { locationId: LOC, messageId: b.id }, cfg);

    const inbound = (await control(sim, "GET", `/locations/${LOC}/inbound`)).body;
    const list = (Array.isArray(inbound) ? inbound : inbound.messages) as Record<string, unknown>[];
    expect(list.map((m) => m.message)).toEqual(["hola!", "again"]);
    expect(list.map((m) => m.altId)).toEqual(["WA1", "WA2"]);
    expect(new Set(list.map((m) => m.conversationId)).size).toBe(1);
    const contact = await db.contact.findFirstOrThrow({ where: { locationId: LOC, phone: "+15557770001" } });
    expect(contact.ghlContactId).toBeTruthy();
    expect(contact.ghlConversationId).toBe(list[0].conversationId);
    const calls = (await control(sim, "GET", `/calls?path=/contacts/upsert`)).body.calls as unknown[];
    expect(calls).toHaveLength(1);
  });

  it("says, when it posts, which message of the contact is next (none after the last), and keeps GHL's id", async () => {
    const at = new Date();
    const rec = (id: string) =>
      recordInbound(db, {
        locationId: LOC,
        instanceId: "i1",
        waMessageId: id,
        phone: "15557770002",
        jid: "15557770002@s.whatsapp.net",
        fromMe: false,
        type: "text",
        text: id,
        at,
      });
    const [x, y] = [await rec("WA-N1"), await rec("WA-N2")]; // same second: arrival order decides
    expect(await postInboundToGhl(db, ghl, { locationId: LOC, messageId: x.id }, cfg)).toEqual({
      result: "posted",
      next: { id: y.id, locationId: LOC },
    });
    expect(await postInboundToGhl(db, ghl, { locationId: LOC, messageId: y.id }, cfg)).toEqual({
      result: "posted",
      next: null,
    });
    const rows = await db.message.findMany({ where: { id: { in: [x.id, y.id] } } });
    expect(rows.every((r) => r.status === "SYNCED" && r.ghlMessageId)).toBe(true);
  });

  it("attaches received media as a signed, query-free URL and posts phone-typed messages as outbound", async () => {
    const saved = await saveMedia(db, LOC, { bytes: Buffer.from("img"), mimetype: "image/jpeg", fileName: "p.jpg" });
    const m = await recordInbound(db, {
      locationId: LOC,
      instanceId: "i1",
      waMessageId: "WA3",
      phone: "15557770001",
      jid: "15557770001@s.whatsapp.net",
      fromMe: false,
      type: "image",
      text: "pic",
      media: { mediaId: saved.mediaId, mimetype: "image/jpeg", fileName: "p.jpg" },
      at: new Date(),
    });
    await postInboundToGhl(db, ghl, { locationId: LOC, messageId: m.id }, cfg);
    const o = await recordInbound(db, {
      locationId: LOC,
      instanceId: "i1",
      waMessageId: "WA4",
      phone: "15557770001",
      jid: "15557770001@s.whatsapp.net",
      fromMe: true,
      type: "text",
      text: "typed on the phone",
      at: new Date(),
    });
    await postInboundToGhl(db, ghl, { locationId: LOC, messageId: o.id }, cfg);
    const inbound = (await control(sim, "GET", `/locations/${LOC}/inbound`)).body;
    const list = (Array.isArray(inbound) ? inbound : inbound.messages) as {
      attachments?: string[];
      direction?: string;
      message?: string;
    }[];
    const pic = list.find((x) => x.message === "pic")!;
    expect(pic.attachments![0]).toMatch(/^http:\/\/127\.0\.0\.1:3999\/api\/media\/[^?]+\/p\.jpg$/);
    expect(list.find((x) => x.message === "typed on the phone")!.direction).toBe("outbound");
  });

  it("reports delivered/read/failed on a GHL message, and every call matches GHL's OpenAPI", async () => {
    const sent = await control(sim, "POST", `/locations/${LOC}/messages`, {
      phone: "+15557770002",
      message: "from GHL",
    });
    const ghlMessageId = sent.body.messageId as string;
    await pushStatusToGhl(ghl, ghlMessageId, "delivered");
    await pushStatusToGhl(ghl, ghlMessageId, "read");
    const s2 = await control(sim, "POST", `/locations/${LOC}/messages`, { phone: "+15557770003", message: "doomed" });
    await pushStatusToGhl(ghl, s2.body.messageId, "failed", "+15557770003 does not have WhatsApp");
    const history = (await control(sim, "GET", `/messages/${ghlMessageId}`)).body;
    expect((history.statuses as { status: string }[]).map((s) => s.status)).toEqual(["delivered", "read"]);
    const failed = (await control(sim, "GET", `/messages/${s2.body.messageId}`)).body;
    expect(failed.statuses[0]).toMatchObject({
      status: "failed",
      error: { message: "+15557770003 does not have WhatsApp" },
    });
    expect(await contractProblems(sim)).toEqual([]);
  });
});
