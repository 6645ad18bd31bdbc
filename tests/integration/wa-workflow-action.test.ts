import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as fieldsRoute } from "@/app/api/ghl/workflows/send-message/fields/route";
import { POST as sendMessageRoute } from "@/app/api/ghl/workflows/send-message/route";
import { POST as subscriptionRoute } from "@/app/api/ghl/workflows/subscription/route";
import { GET as callbackRoute } from "@/app/api/oauth/callback/route";
import { GET as installRoute } from "@/app/api/oauth/install/route";
import { SANDBOX_WORKFLOW_SECRET } from "@/sandbox/ghl/config";
import { installThroughApp, startGhlHarness } from "./helpers/ghl-harness";
import { linkNumberByQr, simCall, startMessagingFixture, until } from "./helpers/wa-fixture";

// The GHL workflow action "Send WhatsApp message": the GHL simulator runs a workflow step that
// calls the app's action URL with the headers entered in the Marketplace; the message is queued
// through the outbound path and reaches the contact's phone from the chosen number. Calls
// without the secret header, for a location that has not installed the app, or malformed, send
// nothing.
const NUMBER = "15558880001";
const CONTACT = "15558889001";
const LOC = "ActionLoc00000000001";
const CO = "ActionCo000000000001";

type Inbox = { text?: string }[];
let f: Awaited<ReturnType<typeof startMessagingFixture>>;
let h: Awaited<ReturnType<typeof startGhlHarness>>;

beforeAll(async () => {
  f = await startMessagingFixture({ testFile: import.meta.filename, workerId: "action-worker", pool: 6 });
  h = await startGhlHarness({
    databaseUrl: f.dbUrl,
    routes: {
      "GET /api/oauth/install": installRoute,
      "GET /api/oauth/callback": callbackRoute,
      "POST /api/ghl/workflows/send-message": sendMessageRoute,
      "POST /api/ghl/workflows/subscription": subscriptionRoute,
      "POST /api/ghl/workflows/send-message/fields": fieldsRoute,
    },
    env: { GHL_WORKFLOW_SECRET: SANDBOX_WORKFLOW_SECRET },
  });
  expect((await h.control("POST", "/companies", { id: CO, name: "Action agency" })).status).toBe(201);
  expect((await h.control("POST", "/locations", { id: LOC, name: "Action location", companyId: CO })).status).toBe(201);
  expect(
    (await h.control("POST", "/locations", { id: "NotInstalled00000001", name: "Other", companyId: CO })).status,
  ).toBe(201);
  const done = await installThroughApp(h.appUrl, { locationId: LOC });
  expect(done.status).toBe(303);
  await f.db.instance.create({ data: { id: "i1", locationId: LOC, name: "wa-01" } });
  for (const phone of [NUMBER, CONTACT]) await simCall(f.sim, "POST", "/__sandbox/phones", { phone });
  await linkNumberByQr(f, LOC, NUMBER, "i1");
}, 60_000);

afterAll(async () => {
  await h?.close();
  await f?.close();
});

const action = (locationId: string, data: Record<string, unknown>) =>
  h.control<{ status: number; body: Record<string, unknown> }>("POST", "/workflows/actions", {
    locationId,
    key: "whatsapp_send_message",
    contactId: "ghl-contact-1",
    data,
  });
const inbox = () => simCall<Inbox>(f.sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`);

describe("the Send WhatsApp message workflow action", { retry: 0 }, () => {
  it("configuring the action offers the location's numbers to choose from", async () => {
    await f.db.instance.create({ data: { id: "i2", locationId: LOC, name: "wa-02", alias: "Sales" } });
    const r = await h.control<{
      status: number;
      body: { inputs: { fields: { field: string; options?: { label: string; value: string }[] }[] }[] };
    }>("POST", "/workflows/actions/fields", { locationId: LOC, key: "whatsapp_send_message" });
    expect(r.body.status).toBe(200);
    const number = r.body.body.inputs[0].fields.find((x) => x.field === "number");
    expect(number?.options).toEqual([
      { label: `wa-01 · +${NUMBER}`, value: "wa-01" },
      { label: "wa-02 · Sales", value: "wa-02" },
    ]);
    await f.db.instance.delete({ where: { id: "i2" } });
  });

  it("a workflow step sends the text from the chosen number", { timeout: 30_000 }, async () => {
    const r = await action(LOC, { number: "wa-01", phone: `+${CONTACT}`, message: "from a workflow" });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe(200);
    expect(r.body.body).toMatchObject({ status: "QUEUED", number: "wa-01" });
    await until(
      "the text at the contact's phone",
      async () => (await inbox()).some((m) => m.text === "from a workflow"),
      20_000,
      200,
    );
    const row = await f.db.message.findFirstOrThrow({ where: { locationId: LOC, direction: "OUTBOUND" } });
    expect(row).toMatchObject({ instanceId: "i1", text: "from a workflow" });
  });

  it("refuses what it must not send: another location, an unknown number, no text, too long", async () => {
    const other = await action("NotInstalled00000001", { phone: `+${CONTACT}`, message: "x" });
    // GHL does not offer the app's actions where the app is not installed
    expect(other.status).toBe(409);
    expect((await action(LOC, { number: "wa-99", phone: `+${CONTACT}`, message: "x" })).body.status).toBe(404);
    expect((await action(LOC, { phone: `+${CONTACT}`, message: "" })).body.status).toBe(422);
    expect((await action(LOC, { phone: `+${CONTACT}`, message: "x".repeat(5000) })).body.status).toBe(400);
    expect(await f.db.message.count({ where: { direction: "OUTBOUND" } })).toBe(1);
  });

  it("a call without the Marketplace header, or with another, is refused before its body is read", async () => {
    const body = JSON.stringify({
      data: { phone: `+${CONTACT}`, message: "forged" },
      extras: { locationId: LOC },
      meta: { key: "whatsapp_send_message" },
    });
    for (const headers of [{}, { "x-gw-workflow-secret": "not-the-secret-not-the-secret" }] as Record<
      string,
      string
    >[]) {
      const r = await fetch(`${h.appUrl}/api/ghl/workflows/send-message`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", ...headers },
      });
      expect(r.status).toBe(401);
      const s = await fetch(`${h.appUrl}/api/ghl/workflows/subscription`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", ...headers },
      });
      expect(s.status).toBe(401);
    }
    const big = await fetch(`${h.appUrl}/api/ghl/workflows/send-message`, {
      method: "POST",
      body: JSON.stringify({ pad: "x".repeat(70_000) }),
      headers: { "content-type": "application/json", "x-gw-workflow-secret": SANDBOX_WORKFLOW_SECRET },
    });
    expect(big.status).toBe(413);
    expect(await f.db.message.count({ where: { direction: "OUTBOUND" } })).toBe(1);
  });

  it("a subscription whose targetUrl is not on GHL's API host is refused", async () => {
    const body = JSON.stringify({
      triggerData: {
        id: "t1",
        key: "whatsapp_number_status_changed",
        filters: [],
        eventType: "CREATED",
        targetUrl: "https://attacker.example/workflows-marketplace/triggers/execute/a/b",
      },
      extras: { locationId: LOC, workflowId: "wf1", companyId: CO },
    });
    const r = await fetch(`${h.appUrl}/api/ghl/workflows/subscription`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "x-gw-workflow-secret": SANDBOX_WORKFLOW_SECRET },
    });
    expect(r.status).toBe(400);
    expect(await f.db.workflowSubscription.count()).toBe(0);
  });
});
