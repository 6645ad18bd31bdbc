import { createSign, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as webhookRoute } from "@/app/api/ghl/webhooks/route";
import { GET as panelLocation } from "@/app/api/panel/location/route";
import { db } from "@/lib/db";
import { acceptAppWebhook } from "@/lib/ghl/app-webhooks";
import { webhookKeys } from "@/lib/ghl/webhook-verify";
import { CONTROL_CHANNEL } from "@/lib/instances/control";
import { redis, subscribeWhenReady } from "@/lib/redis";
import { req } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { startGhlHarness } from "./helpers/ghl-harness";
import { identity, panelCookie } from "./helpers/panel-cookie";

const COMPANY = "SandboxAgency0000001";
let h: Awaited<ReturnType<typeof startGhlHarness>>;
let sub: Redis;
const published: string[] = [];

beforeAll(async () => {
  h = await startGhlHarness({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    routes: { "POST /api/ghl/webhooks": webhookRoute },
  });
  sub = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await subscribeWhenReady(sub, CONTROL_CHANNEL);
  sub.on("message", (_c, m) => published.push(m));
});
afterAll(async () => {
  await sub.quit();
  await h.close();
});

// A tenant with tokens, a linked WhatsApp number (creds + keys) and an API key.
async function tenant(id: string) {
  await db().company.upsert({ where: { id: COMPANY }, create: { id: COMPANY }, update: {} });
  await db().location.create({
    data: {
      id,
      companyId: COMPANY,
      name: id,
      accessTokenEnc: "v1.x.y.z.w",
      refreshTokenEnc: "v1.x.y.z.w",
      tokenExpiresAt: new Date(Date.now() + 3600_000),
    },
  });
  const inst = await db().instance.create({ data: { locationId: id, name: "wa-01", status: "ONLINE" } });
  await db().waCreds.create({ data: { instanceId: inst.id, dataEnc: "sealed" } });
  await db().waKey.create({ data: { instanceId: inst.id, type: "pre-key", keyId: "1", valueEnc: "sealed" } });
  return inst;
}

const body = (o: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      type: "UNINSTALL",
      appId: "6650f0aa11",
      timestamp: new Date().toISOString(),
      webhookId: randomUUID(),
      ...o,
    }),
  );
const edSig = (raw: Buffer, key = h.ghl.config.privateKeys.ed25519) => sign(null, raw, key).toString("base64");
const rsaSig = (raw: Buffer) => createSign("SHA256").update(raw).end().sign(h.ghl.config.privateKeys.rsa, "base64");
const post = (raw: Buffer, headers: Record<string, string>) =>
  webhookRoute(
    req("/api/ghl/webhooks", {
      method: "POST",
      body: new Uint8Array(raw),
      headers: { "content-type": "application/json", ...headers },
    }),
    { params: Promise.resolve({}) },
  );
const untouched = async (id: string) => {
  const l = await db().location.findUniqueOrThrow({ where: { id } });
  return (
    l.installed &&
    l.accessTokenEnc !== null &&
    (await db().waKey.count({ where: { instance: { locationId: id } } })) === 1
  );
};

describe("POST /api/ghl/webhooks", () => {
  it("UNINSTALL signed with Ed25519: tokens and WhatsApp keys gone, sockets told to stop, audit kept, panel refuses", async () => {
    const inst = await tenant("LocUninstallEd");
    const cookie = await panelCookie(identity({ locationId: "LocUninstallEd", companyId: COMPANY }));
    expect(
      (await panelLocation(req("/api/panel/location", { headers: { cookie } }), { params: Promise.resolve({}) }))
        .status,
    ).toBe(200);

    const raw = body({ locationId: "LocUninstallEd" });
    const r = await post(raw, { "x-ghl-signature": edSig(raw) });
    expect(r.status).toBe(200);
    const loc = await db().location.findUniqueOrThrow({ where: { id: "LocUninstallEd" } });
    expect(loc).toMatchObject({ installed: false, accessTokenEnc: null, refreshTokenEnc: null, tokenExpiresAt: null });
    expect(await db().waCreds.count({ where: { instanceId: inst.id } })).toBe(0);
    expect(await db().waKey.count({ where: { instanceId: inst.id } })).toBe(0);
    expect((await db().instance.findUniqueOrThrow({ where: { id: inst.id } })).desiredState).toBe("STOPPED");
    expect(await db().auditEvent.count({ where: { locationId: "LocUninstallEd", action: "app.uninstalled" } })).toBe(1);
    await expect
      .poll(() => published.map((m) => JSON.parse(m)))
      .toContainEqual({ type: "location.uninstalled", locationId: "LocUninstallEd" });

    const refused = await panelLocation(req("/api/panel/location", { headers: { cookie } }), {
      params: Promise.resolve({}),
    });
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe("not_installed");
  });

  it("UNINSTALL signed with the legacy RSA key is accepted", async () => {
    await tenant("LocUninstallRsa");
    const raw = body({ locationId: "LocUninstallRsa" });
    expect((await post(raw, { "x-wh-signature": rsaSig(raw) })).status).toBe(200);
    expect((await db().location.findUniqueOrThrow({ where: { id: "LocUninstallRsa" } })).installed).toBe(false);
  });

  it("forged, unsigned, stale and replayed calls get 401 and change nothing", async () => {
    await tenant("LocTarget");
    const receipts = await db().webhookReceipt.count();
    const forger = generateKeyPairSync("ed25519").privateKey;
    const raw = body({ locationId: "LocTarget" });
    const cases: [string, Buffer, Record<string, string>][] = [
      ["forged Ed25519", raw, { "x-ghl-signature": sign(null, raw, forger).toString("base64") }],
      ["forged RSA", raw, { "x-wh-signature": Buffer.alloc(256, 7).toString("base64") }],
      [
        "body altered after signing",
        Buffer.from(raw.toString().replace("LocTarget", "LocTarget ")),
        { "x-ghl-signature": edSig(raw) },
      ],
      ["unsigned", raw, {}],
    ];
    const stale = body({ locationId: "LocTarget", timestamp: new Date(Date.now() - 6 * 60_000).toISOString() });
    cases.push(["stale (6 minutes old)", stale, { "x-ghl-signature": edSig(stale) }]);
    for (const [name, b, headers] of cases) {
      const r = await post(b, headers);
      expect(r.status, name).toBe(401);
      expect((await r.json()).error.code, name).toBe("unauthorized");
      expect(await untouched("LocTarget"), name).toBe(true);
    }
    expect(await db().webhookReceipt.count()).toBe(receipts); // a rejected call leaves no receipt behind
  });

  it("a replayed webhookId gets 401 and does not undo a reinstall", async () => {
    await tenant("LocReplay");
    const raw = body({ locationId: "LocReplay" });
    const headers = { "x-ghl-signature": edSig(raw) };
    expect((await post(raw, headers)).status).toBe(200);
    // the tenant comes back; an attacker replays the captured uninstall within the 5 minutes
    await db().location.update({
      where: { id: "LocReplay" },
      data: { installed: true, accessTokenEnc: "v1.a.b.c.d", uninstalledAt: null },
    });
    const again = await post(raw, headers);
    expect(again.status).toBe(401);
    expect((await db().location.findUniqueOrThrow({ where: { id: "LocReplay" } })).installed).toBe(true);
  });

  it("without webhookId or timestamp (as GHL's own examples), a replay of the same signed bytes gets 401 within the window", async () => {
    await tenant("LocNoIds");
    const raw = Buffer.from(JSON.stringify({ type: "UNINSTALL", appId: "6650f0aa11", locationId: "LocNoIds" }));
    const headers = { "x-ghl-signature": edSig(raw) };
    expect((await post(raw, headers)).status).toBe(200);
    const reinstall = () =>
      db().location.update({
        where: { id: "LocNoIds" },
        data: { installed: true, accessTokenEnc: "v1.a.b.c.d", uninstalledAt: null },
      });
    await reinstall();
    const again = await post(raw, headers);
    expect(again.status).toBe(401);
    expect((await again.json()).error.message).toMatch(/already received/);
    expect((await db().location.findUniqueOrThrow({ where: { id: "LocNoIds" } })).installed).toBe(true);
    // other bytes are another webhook (the RSA signature does not change the body: still a replay)
    expect((await post(raw, { "x-wh-signature": rsaSig(raw) })).status).toBe(401);
    // once the receipt window has passed, the same bytes are taken as new
    await db().webhookReceipt.updateMany({
      where: { id: { startsWith: "ghl-app-body:" } },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await post(raw, headers)).status).toBe(200);
    expect((await db().location.findUniqueOrThrow({ where: { id: "LocNoIds" } })).installed).toBe(false);
  });

  it("the simulator's own signed UNINSTALL for a company reaches the app and clears every location of it", async () => {
    await tenant("LocCo1");
    await tenant("LocCo2");
    const r = await h.control<{ deliveryStatus: number }>("POST", "/webhooks/uninstall", { companyId: COMPANY });
    expect(r.body.deliveryStatus).toBe(200);
    for (const id of ["LocCo1", "LocCo2"])
      expect((await db().location.findUniqueOrThrow({ where: { id } })).installed).toBe(false);
    expect((await db().company.findUniqueOrThrow({ where: { id: COMPANY } })).installed).toBe(false);
  });

  it("a validly signed UNINSTALL of another GHL app (or with no appId) is answered 200 and changes nothing", async () => {
    await tenant("LocOtherApp");
    await db().company.update({ where: { id: COMPANY }, data: { installed: true } });
    for (const appId of ["someOtherApp123", undefined]) {
      const raw = body({ locationId: "LocOtherApp", companyId: COMPANY, appId });
      const r = await post(raw, { "x-ghl-signature": edSig(raw) });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ result: "ignored", type: "UNINSTALL" });
      expect(await untouched("LocOtherApp")).toBe(true);
    }
    expect((await db().company.findUniqueOrThrow({ where: { id: COMPANY } })).installed).toBe(true);
  });

  it("the simulator sending as another app: a company UNINSTALL and an INSTALL reach the app signed, and are ignored", async () => {
    await tenant("LocOtherCo");
    const r = await h.control<{ deliveryStatus: number; body: { appId: string } }>("POST", "/webhooks/uninstall", {
      companyId: COMPANY,
      appId: "anotherApp99",
    });
    expect(r.body).toMatchObject({ deliveryStatus: 200, body: { appId: "anotherApp99" } });
    expect(await untouched("LocOtherCo")).toBe(true);
    const loc = (await h.control<{ locations: { id: string }[] }>("GET", "/locations")).body.locations.at(-1)!.id;
    await db().location.deleteMany({ where: { id: loc } });
    const i = await h.control<{ deliveryStatus: number }>("POST", "/webhooks/install", {
      locationId: loc,
      appId: "anotherApp99",
    });
    expect(i.body.deliveryStatus).toBe(200);
    expect(await db().location.findUnique({ where: { id: loc } })).toBeNull();
  });

  it("a failure on our side answers 429 (the one status GHL retries) and the retry of the same webhookId is applied", async () => {
    await tenant("LocRetry");
    const raw = body({ locationId: "LocRetry" });
    const headers = new Headers({ "x-ghl-signature": edSig(raw) });
    const cfg = {
      keys: webhookKeys({ ed25519: h.ghl.config.publicKeys.ed25519, rsa: h.ghl.config.publicKeys.rsa }),
      appId: h.ghl.config.appId,
    };
    const brokenRedis = { publish: async () => Promise.reject(new Error("redis is down")) } as unknown as Redis;
    await expect(acceptAppWebhook({ db: db(), redis: brokenRedis }, cfg, raw, headers)).rejects.toMatchObject({
      status: 429,
    });
    published.length = 0;
    const retry = await acceptAppWebhook({ db: db(), redis: redis() }, cfg, raw, headers);
    expect(retry.result).toBe("accepted");
    await expect
      .poll(() => published.map((m) => JSON.parse(m)))
      .toContainEqual({ type: "location.uninstalled", locationId: "LocRetry" });
  });
});

describe("LocationUpdate: the location's name from GHL", () => {
  // as GHL documents it (docs/LocationUpdate.md in GHL's reference): no appId, webhookId or timestamp
  const update = (o: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ type: "LocationUpdate", email: "desk@example.com", stripeProductId: "prod_x", ...o }));
  const nameOf = async (id: string) => (await db().location.findUnique({ where: { id } }))?.name;
  const panelName = async (id: string) => {
    const cookie = await panelCookie(identity({ locationId: id, companyId: COMPANY }));
    return (
      await (
        await panelLocation(req("/api/panel/location", { headers: { cookie } }), { params: Promise.resolve({}) })
      ).json()
    ).location.name;
  };

  it("a signed LocationUpdate renames the installed location; the panel shows the new name", async () => {
    await tenant("LocRename");
    const raw = update({ id: "LocRename", companyId: COMPANY, name: "Maple Fitness Downtown" });
    const r = await post(raw, { "x-ghl-signature": edSig(raw) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ result: "accepted", type: "LocationUpdate" });
    expect(await nameOf("LocRename")).toBe("Maple Fitness Downtown");
    expect(await panelName("LocRename")).toBe("Maple Fitness Downtown");
    expect(await db().auditEvent.count({ where: { locationId: "LocRename", action: "location.renamed" } })).toBe(1);
    // the legacy RSA header too
    const again = update({ id: "LocRename", companyId: COMPANY, name: "Maple Fitness Uptown" });
    expect((await post(again, { "x-wh-signature": rsaSig(again) })).status).toBe(200);
    expect(await nameOf("LocRename")).toBe("Maple Fitness Uptown");
  });

  it("unsigned, forged or tampered: 401 and the name stays", async () => {
    await tenant("LocRenameForged");
    const raw = update({ id: "LocRenameForged", companyId: COMPANY, name: "Hijacked" });
    const other = generateKeyPairSync("ed25519").privateKey;
    expect((await post(raw, {})).status).toBe(401);
    expect((await post(raw, { "x-ghl-signature": sign(null, raw, other).toString("base64") })).status).toBe(401);
    const signed = edSig(raw);
    const tampered = Buffer.from(raw.toString().replace("Hijacked", "Tampered"));
    expect((await post(tampered, { "x-ghl-signature": signed })).status).toBe(401);
    expect(await nameOf("LocRenameForged")).toBe("LocRenameForged");
  });

  it("a wrong location is refused (404) and nothing is created or renamed: unknown, another company's, uninstalled", async () => {
    await tenant("LocRenameMine");
    await db().company.upsert({
      where: { id: "OtherAgency000000001" },
      create: { id: "OtherAgency000000001" },
      update: {},
    });
    const unknown = update({ id: "LocNeverInstalled", companyId: COMPANY, name: "Ghost" });
    const r1 = await post(unknown, { "x-ghl-signature": edSig(unknown) });
    expect(r1.status).toBe(404);
    expect(await db().location.findUnique({ where: { id: "LocNeverInstalled" } })).toBeNull();
    const wrongCompany = update({ id: "LocRenameMine", companyId: "OtherAgency000000001", name: "Not yours" });
    expect((await post(wrongCompany, { "x-ghl-signature": edSig(wrongCompany) })).status).toBe(404);
    expect(await nameOf("LocRenameMine")).toBe("LocRenameMine");
    expect((await db().location.findUniqueOrThrow({ where: { id: "LocRenameMine" } })).companyId).toBe(COMPANY);
    await db().location.update({ where: { id: "LocRenameMine" }, data: { installed: false } });
    const gone = update({ id: "LocRenameMine", companyId: COMPANY, name: "After uninstall" });
    expect((await post(gone, { "x-ghl-signature": edSig(gone) })).status).toBe(404);
    expect(await nameOf("LocRenameMine")).toBe("LocRenameMine");
  });

  it("another app's LocationUpdate is ignored; the same signed bytes twice are a replay", async () => {
    await tenant("LocRenameOther");
    const foreign = update({
      id: "LocRenameOther",
      companyId: COMPANY,
      name: "Other app says",
      appId: "someOtherApp123",
    });
    const r = await post(foreign, { "x-ghl-signature": edSig(foreign) });
    expect(await r.json()).toMatchObject({ result: "ignored", type: "LocationUpdate" });
    expect(await nameOf("LocRenameOther")).toBe("LocRenameOther");
    const raw = update({ id: "LocRenameOther", companyId: COMPANY, name: "Renamed once" });
    expect((await post(raw, { "x-ghl-signature": edSig(raw) })).status).toBe(200);
    await db().location.update({ where: { id: "LocRenameOther" }, data: { name: "Renamed since" } });
    expect((await post(raw, { "x-ghl-signature": edSig(raw) })).status).toBe(401);
    expect(await nameOf("LocRenameOther")).toBe("Renamed since");
  });

  it("the simulator's rename reaches the app signed, as GHL documents it, and GET /locations/{id} agrees", async () => {
    const sunrise = "SunriseDental0000001";
    const i = await h.control<{ deliveryStatus: number }>("POST", "/webhooks/install", { locationId: sunrise });
    expect(i.body.deliveryStatus).toBe(200);
    const r = await h.control<{ deliveryStatus: number; webhook: Record<string, unknown> }>(
      "POST",
      `/locations/${sunrise}/update`,
      { name: "Sunrise Dental Group" },
    );
    expect(r.body.deliveryStatus).toBe(200);
    expect(r.body.webhook).toMatchObject({
      type: "LocationUpdate",
      id: sunrise,
      companyId: COMPANY,
      name: "Sunrise Dental Group",
    });
    expect(r.body.webhook).not.toHaveProperty("appId");
    expect(await nameOf(sunrise)).toBe("Sunrise Dental Group");
  });
});
