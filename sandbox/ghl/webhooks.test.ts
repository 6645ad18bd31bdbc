import { createVerify, verify as edVerify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "./directory";
import type { GhlSimulator } from "./server";
import { ALL_SCOPES, api, contractProblems, control, install, type Received, startFakeApp, startSim } from "./test-kit";

const [sunrise, harbor] = SEED.locations.map((l) => l.id);
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({ appBaseUrl: app.url, webhookRetryDelayMs: 20 });
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

// What the app does: verify the raw bytes with the keys the simulator publishes.
async function verifyBoth(r: Received) {
  const { body } = await control(sim, "GET", "/health");
  const ed = edVerify(
    null,
    r.raw,
    body.publicKeys.ed25519,
    Buffer.from(String(r.headers["x-ghl-signature"]), "base64"),
  );
  const rsa = createVerify("SHA256")
    .update(r.raw)
    .end()
    .verify(body.publicKeys.rsa, String(r.headers["x-wh-signature"]), "base64");
  return { ed, rsa };
}

describe("webhooks and the Delivery URL", () => {
  it("installing a location from the page sends a signed INSTALL webhook (Ed25519 and RSA, over the raw body)", async () => {
    await install(sim, { locationId: sunrise });
    const hook = await app.waitFor(
      (r) => r.path === "/api/ghl/webhooks" && r.json.type === "INSTALL" && r.json.locationId === sunrise,
    );
    expect(hook.json).toMatchObject({
      appId: sim.config.appId,
      companyId: SEED.companyId,
      companyName: "Sandbox Agency",
      installType: "Location",
    });
    expect(hook.json.webhookId).toEqual(expect.any(String));
    expect(Date.now() - Date.parse(hook.json.timestamp)).toBeLessThan(60_000);
    expect(await verifyBoth(hook)).toEqual({ ed: true, rsa: true });
    const tampered = { ...hook, raw: Buffer.from(hook.raw.toString().replace(sunrise, harbor)) };
    expect(await verifyBoth(tampered)).toEqual({ ed: false, rsa: false });
  });

  it("uninstall sends a signed UNINSTALL and revokes the location's tokens", async () => {
    const { tokens } = await install(sim, { locationId: harbor });
    const r = await control(sim, "POST", "/webhooks/uninstall", { locationId: harbor });
    expect(r.body.deliveryStatus).toBe(200);
    const hook = await app.waitFor((x) => x.json?.type === "UNINSTALL" && x.json.locationId === harbor);
    expect(hook.json).toMatchObject({ appId: sim.config.appId, locationId: harbor });
    expect(await verifyBoth(hook)).toEqual({ ed: true, rsa: true });
    const after = await api(sim, "GET", `/conversations/search?locationId=${harbor}`, {
      token: tokens.body.access_token,
    });
    expect(after.status).toBe(401);
    expect((await control(sim, "GET", `/tokens?locationId=${harbor}`)).body.validPairs).toBe(0);
  });

  it("with appId, uninstall and install are sent signed as another app would, and leave this app's installs alone", async () => {
    const loc = SEED.locations[1].id;
    const { tokens } = await install(sim, { locationId: loc });
    const u = await control(sim, "POST", "/webhooks/uninstall", { locationId: loc, appId: "otherApp42" });
    const hook = await app.waitFor((x) => x.json?.webhookId === u.body.webhookId);
    expect(hook.json).toMatchObject({ type: "UNINSTALL", appId: "otherApp42", locationId: loc });
    expect(await verifyBoth(hook)).toEqual({ ed: true, rsa: true });
    expect(
      (await api(sim, "GET", `/conversations/search?locationId=${loc}`, { token: tokens.body.access_token })).status,
    ).toBe(200);

    const other = (await control(sim, "POST", "/locations", { name: "Not Ours Yet", companyId: SEED.companyId })).body
      .id;
    const i = await control(sim, "POST", "/webhooks/install", { locationId: other, appId: "otherApp42" });
    const ih = await app.waitFor((x) => x.json?.webhookId === i.body.webhookId);
    expect(ih.json).toMatchObject({ type: "INSTALL", appId: "otherApp42", locationId: other });
    expect((await control(sim, "GET", "/locations")).body.locations.find((l: any) => l.id === other).installed).toBe(
      false,
    );
  });

  it("renaming a location sends GHL's LocationUpdate, signed, in the documented shape, to installs only", async () => {
    const loose = (await control(sim, "POST", "/locations", { name: "Not Installed", companyId: SEED.companyId })).body
      .id;
    const none = await control(sim, "POST", `/locations/${loose}/update`, { name: "Still Not Installed" });
    expect(none.body).toMatchObject({ webhook: null, deliveryStatus: null });
    const loc = SEED.locations[0].id;
    const { tokens } = await install(sim, { locationId: loc }, `${ALL_SCOPES} locations.readonly`);
    const r = await control(sim, "POST", `/locations/${loc}/update`, { name: "Sunrise Dental Group" });
    expect(r.body.deliveryStatus).toBe(200);
    const hook = await app.waitFor((x) => x.json?.type === "LocationUpdate" && x.json.name === "Sunrise Dental Group");
    // docs/LocationUpdate.md: type, id, companyId, name, email, stripeProductId; no appId, webhookId or timestamp
    expect(Object.keys(hook.json).sort()).toEqual(["companyId", "email", "id", "name", "stripeProductId", "type"]);
    expect(hook.json).toMatchObject({ id: loc, companyId: SEED.companyId });
    expect(await verifyBoth(hook)).toEqual({ ed: true, rsa: true });
    const got = await api(sim, "GET", `/locations/${loc}`, { token: tokens.body.access_token });
    expect(got.body.location.name).toBe("Sunrise Dental Group");
    expect((await control(sim, "POST", "/locations/NoSuchLocation/update", { name: "x" })).status).toBe(404);
  });

  it("a webhook answered 429 is retried; any other status is final", async () => {
    app.answerOnce((x) => x.json?.type === "INSTALL" && x.json.locationId === SEED.locations[2].id, 429);
    const r = await control(sim, "POST", "/webhooks/install", { locationId: SEED.locations[2].id });
    expect(r.body.deliveryStatus).toBe(429);
    const deadline = Date.now() + 2000;
    let rec: any;
    while (Date.now() < deadline) {
      rec = (await control(sim, "GET", "/webhooks")).body.webhooks.find((w: any) => w.webhookId === r.body.webhookId);
      if (rec.done) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(rec.attempts.map((a: any) => a.status)).toEqual([429, 200]);
    const hits = app.received.filter((x) => x.json?.webhookId === r.body.webhookId);
    expect(hits).toHaveLength(2);
  });

  it("Delivery URL: signed ProviderOutboundMessage payload, SMS mode by default, Custom mode with the provider id", async () => {
    const r = await control(sim, "POST", `/locations/${sunrise}/messages`, {
      phone: "+15550201010",
      message: "Hello from GHL",
      attachments: ["https://example.com/a.png"],
      contactName: "Bea Souza",
    });
    expect(r.body).toMatchObject({
      messageId: expect.any(String),
      contactId: expect.any(String),
      conversationId: expect.any(String),
      deliveryStatus: 200,
    });
    const d = await app.waitFor((x) => x.path === "/api/ghl/delivery" && x.json.messageId === r.body.messageId);
    expect(d.json).toMatchObject({
      type: "SMS",
      locationId: sunrise,
      contactId: r.body.contactId,
      phone: "+15550201010",
      message: "Hello from GHL",
      attachments: ["https://example.com/a.png"],
      userId: expect.any(String),
    });
    expect(d.json.conversationProviderId).toBeUndefined();
    expect(await verifyBoth(d)).toEqual({ ed: true, rsa: true });

    await control(sim, "POST", "/settings", { providerMode: "custom" });
    const c = await control(sim, "POST", `/locations/${sunrise}/messages`, {
      phone: "+15550201010",
      message: "via custom",
      userId: null,
    });
    const dc = await app.waitFor((x) => x.json?.messageId === c.body.messageId);
    expect(dc.json).toMatchObject({
      type: "Custom",
      conversationProviderId: sim.config.conversationProviderId,
      contactId: r.body.contactId,
    });
    expect(dc.json.userId).toBeUndefined(); // a workflow message has no user
    await control(sim, "POST", "/settings", { providerMode: "sms" });

    app.statuses.push(500);
    const failed = await control(sim, "POST", `/locations/${sunrise}/messages`, {
      phone: "+15550201010",
      message: "boom",
    });
    expect(failed.body.deliveryStatus).toBe(500);
    expect((await control(sim, "GET", `/messages/${failed.body.messageId}`)).body).toMatchObject({
      deliveryStatus: 500,
      statuses: [],
    });
  });

  it("every recorded call validates against the OpenAPI files", async () => {
    expect(await contractProblems(sim)).toEqual([]);
  });
});
