import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as listInstances } from "@/app/api/instances/route";
import type { Db } from "@/lib/db";
import { type HealthChange, onHealthChange } from "@/lib/health/health-change";
import { setDesiredState } from "@/lib/instances/instances";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { contactTags } from "@/lib/routing/contact-tags";
import { patchLocationSettings } from "@/lib/tenants/settings";
import type { GhlSimulator } from "@/sandbox/ghl/server";
import { install, startSim } from "@/sandbox/ghl/test-kit";
import { params, req } from "./helpers/app-env";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";
import { simCall, startMessagingFixture, until, watchEvents } from "./helpers/wa-fixture";

// Health and routing through the real Baileys client, the WhatsApp simulator and the GHL
// simulator (docs/architecture.md#routing, #number-health; ADR 018). Two numbers of one location,
// both linked today (allowance 20 new chats each), with routing around trouble allowed:
// - 25 first messages to 25 new contacts: 20 leave from wa-01 (its allowance), the other 5 from
//   wa-02, none waits (without the setting they wait: wa-warmup-governor.test.ts);
// - by tag: a contact tagged "vip" in GHL is written to from wa-02, an untagged one from wa-01;
// - the next day, WhatsApp refuses wa-01's new chats (463, the simulator's locked reach-out): after
//   three, wa-01 is restricted (GET /api/instances says so, with the reason; the health hook fires
//   once); its next new chat goes from wa-02; with routing off, one waits with the reason a person
//   reads, while a reply to a contact who wrote to wa-01 still goes.
const N1 = "15554550001";
const N2 = "15554550002";
const NEW = Array.from({ length: 25 }, (_, i) => `1555455${String(1000 + i)}`);
const VIP = "15554558001";
const WRITER = "15554559001";
const STRANGERS = Array.from({ length: 5 }, (_, i) => `1555455${String(7000 + i)}`);
const LOC = "locR";

type Inbox = { id: string; from: string; text?: string }[];
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
let f: Fixture | undefined;
let ghl: GhlSimulator | undefined;
let db: Db;
let token = "";
let offsetMs = 0;
const changes: HealthChange[] = [];
const unsubscribe = onHealthChange((c) => void changes.push(c));

/** GHL's contacts API as the worker calls it (bearer token, Version), against the GHL simulator */
const ghlGet = async (_method: "GET", path: string) => {
  const r = await fetch(`${ghl!.url}${path}`, {
    headers: { authorization: `Bearer ${token}`, version: "2021-07-28", accept: "application/json" },
  });
  if (!r.ok) throw new Error(`GHL ${r.status}`);
  return r.json();
};

beforeAll(async () => {
  ghl = await startSim();
  const companies = await simCall<{ companies: { id: string }[] }>(ghl, "GET", "/__sandbox/companies");
  await simCall(ghl, "POST", "/__sandbox/locations", {
    id: LOC,
    name: "Routing Co",
    companyId: companies.companies[0].id,
  });
  token = (await install(ghl, { locationId: LOC })).tokens.body.access_token as string;

  f = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "route-worker",
    pool: 8,
    textDelayMs: 40,
    clock: () => new Date(Date.now() + offsetMs),
    contactTags: (loc, id) => contactTags(f!.redis, ghlGet, loc, id),
    offlineGraceMs: 1500,
  });
  db = f.db;
  await db.location.create({ data: { id: LOC, name: "Routing Co" } });
  await db.instance.createMany({
    data: [
      { id: "ir1", locationId: LOC, name: "wa-01" },
      { id: "ir2", locationId: LOC, name: "wa-02" },
    ],
  });
  await patchLocationSettings(db, LOC, { routeAroundTrouble: true, tagRoutes: [{ tag: "VIP", instanceId: "ir2" }] });
  for (const phone of [N1, N2, VIP, WRITER, ...NEW, ...STRANGERS])
    await simCall(f.sim, "POST", "/__sandbox/phones", { phone });
});
afterAll(async () => {
  unsubscribe();
  await f?.close();
  await ghl?.close();
});

const inbox = (phone: string) => simCall<Inbox>(f!.sim, "GET", `/__sandbox/phones/${phone}/inbox`);
const send = (contact: string, text: string, ghlMessageId: string, ghlContactId?: string) =>
  acceptOutbound(db, f!.redis, {
    locationId: LOC,
    ghlMessageId,
    ghlContactId,
    phone: `+${contact}`,
    text,
    attachments: [],
    source: "GHL",
  });
/** which number's phone a text reached `contact` from */
const fromWhom = async (contact: string, text: string) => {
  const m = (await inbox(contact)).find((x) => x.text === text);
  return m ? (m.from.startsWith(N1) ? "wa-01" : m.from.startsWith(N2) ? "wa-02" : m.from) : undefined;
};
async function ghlContact(phone: string, tags: string[]): Promise<string> {
  const r = await fetch(`${ghl!.url}/contacts/`, {
    method: "POST",
    body: JSON.stringify({ locationId: LOC, phone: `+${phone}`, tags }),
    headers: { authorization: `Bearer ${token}`, version: "2021-07-28", "content-type": "application/json" },
  });
  return ((await r.json()) as { contact: { id: string } }).contact.id;
}

describe("health and routing on two numbers linked today", { retry: 0 }, () => {
  it("links both numbers", { timeout: 60_000 }, async () => {
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, LOC);
    await f!.worker.m.start();
    for (const [id, phone] of [
      ["ir1", N1],
      ["ir2", N2],
    ] as const) {
      const qr = await until(`a QR for ${id}`, async () =>
        ev.events.find((e) => e.type === "instance.qr" && e.instanceId === id),
      );
      await simCall(f!.sim, "POST", `/__sandbox/phones/${phone}/scan`, { qr: (qr as { qr: string }).qr });
    }
    await until(
      "both ONLINE",
      async () => (await db.instance.count({ where: { locationId: LOC, status: "ONLINE" } })) === 2,
      40_000,
    );
    await ev.close();
    // a contact writes to wa-01 first: a reply to it is never a new chat
    await simCall(f!.sim, "POST", `/__sandbox/phones/${WRITER}/send`, { to: N1, text: "hello wa-01" });
    await until(
      "the writer's message stored",
      async () => (await db.message.count({ where: { locationId: LOC, direction: "INBOUND" } })) === 1,
    );
  });

  it("sends 25 first messages to 25 new contacts with an allowance of 20: 20 from wa-01, the other 5 from wa-02, none waits", {
    timeout: 120_000,
  }, async () => {
    for (const [i, c] of NEW.entries()) await send(c, `welcome ${i}`, `G-new-${i}`);
    const from = await until(
      "25 delivered",
      async () => {
        const got = await Promise.all(NEW.map((c, i) => fromWhom(c, `welcome ${i}`)));
        return got.every(Boolean) ? got : undefined;
      },
      90_000,
      300,
    );
    // FIFO: the first 20 from wa-01, the 5 over its allowance from wa-02
    expect(from).toEqual([...Array(20).fill("wa-01"), ...Array(5).fill("wa-02")]);
    const rows = await db.message.findMany({
      where: { locationId: LOC, ghlMessageId: { in: NEW.map((_, i) => `G-new-${i}`) } },
      orderBy: { createdAt: "asc" },
    });
    expect(rows.filter((r) => r.status === "WAITING" || r.status === "FAILED")).toEqual([]);
    expect(rows.slice(0, 20).every((r) => r.instanceId === "ir1" && r.routedBy === null)).toBe(true);
    expect(rows.slice(20).map((r) => [r.instanceId, r.routedBy, r.newChat])).toEqual(
      Array(5).fill(["ir2", "around", true]),
    );
    expect(
      await db.message.count({ where: { locationId: LOC, instanceId: "ir1", newChat: true, sentAt: { not: null } } }),
    ).toBe(20);
  });

  it("routes by GHL tag: the 'vip' contact gets wa-02, an untagged one its own number; tags are read once per TTL", {
    timeout: 60_000,
  }, async () => {
    const vip = await ghlContact(VIP, ["vip", "lead"]);
    // the writer: a reply from wa-01 (its sticky number, and the new-chat allowance never holds a reply)
    const plain = await ghlContact(WRITER, ["lead"]);
    await simCall(ghl!, "DELETE", "/__sandbox/calls");
    await send(VIP, "for the vip", "G-vip-1", vip);
    await send(WRITER, "for the untagged one", "G-plain-1", plain);
    await until(
      "both delivered",
      async () => (await fromWhom(VIP, "for the vip")) && (await fromWhom(WRITER, "for the untagged one")),
      30_000,
      200,
    );
    expect(await fromWhom(VIP, "for the vip")).toBe("wa-02");
    expect(await fromWhom(WRITER, "for the untagged one")).toBe("wa-01");
    // moved by its tag (wa-01 is out of new chats, but the tag came first)
    const row = await db.message.findFirstOrThrow({ where: { ghlMessageId: "G-vip-1" } });
    expect(row).toMatchObject({
      instanceId: "ir2",
      routedBy: "tag",
      status: expect.stringMatching(/SENT|DELIVERED|READ/),
    });
    expect(await db.message.findFirstOrThrow({ where: { ghlMessageId: "G-plain-1" } })).toMatchObject({
      instanceId: "ir1",
      routedBy: null,
    });

    // a second message within the TTL: no second GHL call for the vip's tags
    await send(VIP, "again for the vip", "G-vip-2", vip);
    await until("the second", async () => fromWhom(VIP, "again for the vip"), 30_000, 200);
    expect(await fromWhom(VIP, "again for the vip")).toBe("wa-02");
    const calls = await simCall<{ calls: { path: string }[] }>(ghl!, "GET", `/__sandbox/calls?path=/contacts/${vip}`);
    expect(calls.calls).toHaveLength(1);
  });

  it("the next day, three 463s restrict wa-01: shown with the reason, told once; its next new chat goes from wa-02", {
    timeout: 90_000,
  }, async () => {
    const now = new Date();
    offsetMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 0, 1) - now.getTime();
    await simCall(f!.sim, "POST", `/__sandbox/phones/${N1}/restrict`, { reachout: "locked" });
    // queued on wa-01 by name: a named number is never moved, so these reach WhatsApp and are refused
    for (let i = 0; i < 3; i++) {
      await acceptOutbound(db, f!.redis, {
        locationId: LOC,
        ghlMessageId: `G-refused-${i}`,
        phone: `+${STRANGERS[i]}`,
        text: `cold ${i}`,
        attachments: [],
        source: "GHL",
        instanceName: "wa-01",
      });
    }
    await until(
      "three refused with 463",
      async () =>
        (await db.message.count({ where: { locationId: LOC, status: "FAILED", error: { contains: "463" } } })) === 3,
      30_000,
      200,
    );
    await until(
      "the change told",
      async () => changes.some((c) => c.instanceId === "ir1" && c.to === "restricted"),
      10_000,
    );
    expect(changes.filter((c) => c.instanceId === "ir1" && c.to === "restricted")).toHaveLength(1);
    expect(changes.find((c) => c.to === "restricted")).toMatchObject({
      locationId: LOC,
      numberName: "wa-01",
      reasons: expect.arrayContaining([expect.stringContaining("error 463")]),
    });
    // …and raises the RESTRICTED alert once (banner, number.status webhook, GHL trigger: lib/alerts/)
    const alerts = await until(
      "the RESTRICTED alert",
      async () => {
        const a = await db.numberAlert.findMany({
          where: { locationId: LOC, instanceId: "ir1", status: "RESTRICTED" },
        });
        return a.length ? a : undefined;
      },
      10_000,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0].reason).toContain("error 463");

    const who = identity({ locationId: LOC, companyId: "coR" });
    await ghlSays(f!.redis, who);
    const res = await listInstances(req("/api/instances", { headers: { cookie: await panelCookie(who) } }), params({}));
    expect(res.status).toBe(200);
    const list = (
      (await res.json()) as { instances: { instanceId: string; health: { state: string; reasons: string[] } }[] }
    ).instances;
    const wa01 = list.find((i) => i.instanceId === "wa-01")!;
    expect(wa01.health.state).toBe("restricted");
    expect(wa01.health.reasons[0]).toMatch(/^WhatsApp refused 3 new chats from wa-01 with error 463 within 24 h/);
    expect(list.find((i) => i.instanceId === "wa-02")!.health.state).not.toBe("restricted");

    await send(STRANGERS[3], "cold but routed", "G-routed");
    await until(
      "routed from wa-02",
      async () => (await fromWhom(STRANGERS[3], "cold but routed")) === "wa-02",
      30_000,
      200,
    );
  });

  it("with routing off, the restricted number's new chat waits with the reason; a reply to a writer still goes", {
    timeout: 60_000,
  }, async () => {
    await patchLocationSettings(db, LOC, { routeAroundTrouble: false });
    const held = await send(STRANGERS[4], "cold and held", "G-held");
    await send(WRITER, "reply to the writer", "G-reply");
    await until(
      "the reply at the writer",
      async () => (await fromWhom(WRITER, "reply to the writer")) === "wa-01",
      30_000,
      200,
    );
    const row = await until(
      "held",
      async () => {
        const r = await db.message.findUnique({ where: { id: held.id } });
        return r?.status === "WAITING" ? r : undefined;
      },
      20_000,
      200,
    );
    expect(row.instanceId).toBe("ir1");
    expect(row.error).toMatch(
      /^wa-01 is restricted \(WhatsApp refused 3 of its new chats with error 463 within 24 h\); new chats send at \d\d:\d\d UTC or from another number$/,
    );
    expect(row.notBefore!.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(await inbox(STRANGERS[4])).toEqual([]);
  });

  it("with routing on, a message to a contact whose sticky number is offline goes from the ONLINE one", {
    timeout: 60_000,
  }, async () => {
    await patchLocationSettings(db, LOC, { routeAroundTrouble: true });
    await setDesiredState(db, f!.redis, LOC, "ir1", "STOPPED");
    await until(
      "wa-01 not ONLINE",
      async () => (await db.instance.findUnique({ where: { id: "ir1" } }))?.status !== "ONLINE",
      20_000,
    );
    expect(
      (await db.contact.findFirstOrThrow({ where: { locationId: LOC, phone: `+${WRITER}` } })).stickyInstanceId,
    ).toBe("ir1");
    // a reply (the writer wrote to wa-01) that wa-02 may send: WhatsApp lets an unrestricted number write to anyone
    await send(WRITER, "while wa-01 is off", "G-off");
    await until("from wa-02", async () => (await fromWhom(WRITER, "while wa-01 is off")) === "wa-02", 30_000, 200);
  });

  it("a message that waits on an offline number goes from the ONLINE one once routing is turned on", {
    timeout: 60_000,
  }, async () => {
    await patchLocationSettings(db, LOC, { routeAroundTrouble: false });
    const waiting = await send(WRITER, "queued while routing was off", "G-stranded");
    expect(waiting.instanceId).toBe("ir1");
    await new Promise((r) => setTimeout(r, 2500)); // past the grace and a few sweeps: it stays
    expect(await db.message.findUnique({ where: { id: waiting.id } })).toMatchObject({
      instanceId: "ir1",
      status: expect.stringMatching(/QUEUED|WAITING/),
    });
    await patchLocationSettings(db, LOC, { routeAroundTrouble: true });
    await until(
      "from wa-02",
      async () => (await fromWhom(WRITER, "queued while routing was off")) === "wa-02",
      30_000,
      200,
    );
    expect(await db.message.findUnique({ where: { id: waiting.id } })).toMatchObject({
      instanceId: "ir2",
      routedBy: "around",
    });
  });
});
