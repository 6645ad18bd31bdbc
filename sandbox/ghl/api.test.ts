import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "./directory";
import { loadOpenApi } from "./openapi-schemas";
import type { GhlSimulator } from "./server";
import { api, contractProblems, control, install, startFakeApp, startSim } from "./test-kit";

const [sunrise, harbor] = SEED.locations.map((l) => l.id);
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;
let token: string; // Sunrise Dental's Location token

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({ appBaseUrl: app.url });
  token = (await install(sim, { locationId: sunrise })).tokens.body.access_token;
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

async function contactAndConversation(phone: string) {
  const up = await api(sim, "POST", "/contacts/upsert", {
    token,
    json: { locationId: sunrise, phone, name: "Ana Lima", source: "WhatsApp" },
  });
  const conv = await api(sim, "POST", "/conversations/", {
    token,
    json: { locationId: sunrise, contactId: up.body.contact.id },
  });
  return { contactId: up.body.contact.id as string, conversationId: conv.body.conversation.id as string, up, conv };
}

describe("API subset", () => {
  it("unknown token → 401 in GHL's shape, with a traceId", async () => {
    const r = await api(sim, "GET", `/conversations/search?locationId=${sunrise}`, { token: "nope" });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({
      statusCode: 401,
      message: "Invalid token: access token is invalid",
      error: "Unauthorized",
    });
    expect(r.body.traceId).toEqual(expect.any(String));
  });

  it("Version header, scopes and location are enforced", async () => {
    const noVersion = await api(sim, "GET", `/conversations/search?locationId=${sunrise}`, { token, version: null });
    expect(noVersion.status).toBe(401);
    expect(noVersion.body.message).toBe("version header was not found.");
    const wrongVersion = await api(sim, "GET", `/conversations/search?locationId=${sunrise}`, {
      token,
      version: "2021-07-28",
    });
    expect(wrongVersion.status).toBe(401);
    expect(wrongVersion.body.message).toBe("version header is invalid");
    const other = await api(sim, "GET", `/conversations/search?locationId=${harbor}`, { token });
    expect(other.status).toBe(403);
    expect(other.body.message).toBe("The token does not have access to this location.");
    const narrow = (await install(sim, { locationId: harbor }, "contacts.readonly")).tokens.body.access_token;
    const noScope = await api(sim, "POST", "/contacts/upsert", {
      token: narrow,
      json: { locationId: harbor, phone: "+15550100000" },
    });
    expect(noScope.status).toBe(401);
    expect(noScope.body.message).toBe("The token is not authorized for this scope.");
  });

  it("contacts: upsert creates then updates; duplicate search finds by phone", async () => {
    const first = await api(sim, "POST", "/contacts/upsert", {
      token,
      json: { locationId: sunrise, phone: "+1 555-010-2030", firstName: "Rui" },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      new: true,
      contact: { phone: "+15550102030", firstName: "Rui", locationId: sunrise },
    });
    const second = await api(sim, "POST", "/contacts/upsert", {
      token,
      json: { locationId: sunrise, phone: "+15550102030", name: "Rui Costa" },
    });
    expect(second.body).toMatchObject({ new: false, contact: { id: first.body.contact.id, name: "Rui Costa" } });
    const dup = await api(sim, "GET", `/contacts/search/duplicate?locationId=${sunrise}&number=%2B15550102030`, {
      token,
    });
    expect(dup.body.contact.id).toBe(first.body.contact.id);
    const none = await api(sim, "GET", `/contacts/search/duplicate?locationId=${sunrise}&number=%2B15559999999`, {
      token,
    });
    expect(none.body.contact).toBeNull();
  });

  it("conversations: create once, search by contact, a second create is refused with the existing id", async () => {
    const { contactId, conversationId, conv } = await contactAndConversation("+15550103040");
    expect(conv.status).toBe(201);
    const again = await api(sim, "POST", "/conversations/", { token, json: { locationId: sunrise, contactId } });
    expect(again.status).toBe(400);
    expect(again.body.conversationId).toBe(conversationId);
    const found = await api(sim, "GET", `/conversations/search?locationId=${sunrise}&contactId=${contactId}`, {
      token,
    });
    expect(found.body).toMatchObject({
      total: 1,
      conversations: [{ id: conversationId, contactId, phone: "+15550103040" }],
    });
  });

  it("inbound: all four required fields or 422; recorded with altId; Custom without provider id is acknowledged and dropped", async () => {
    const { contactId, conversationId } = await contactAndConversation("+15550104050");
    const bad = await api(sim, "POST", "/conversations/messages/inbound", {
      token,
      json: { type: "SMS", contactId, message: "hi" },
    });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ statusCode: 422, error: "Unprocessable Entity" });
    expect(bad.body.message).toEqual(
      expect.arrayContaining(["conversationId should not be empty", "conversationProviderId should not be empty"]),
    );
    const badType = await api(sim, "POST", "/conversations/messages/inbound", {
      token,
      json: { type: "Telegram", contactId, conversationId, conversationProviderId: sim.config.conversationProviderId },
    });
    expect(badType.status).toBe(422);
    const ok = await api(sim, "POST", "/conversations/messages/inbound", {
      token,
      json: {
        type: "SMS",
        contactId,
        conversationId,
        conversationProviderId: sim.config.conversationProviderId,
        message: "olá",
        altId: "WA1",
        direction: "inbound",
      },
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ success: true, conversationId, messageId: expect.any(String) });
    const dropped = await api(sim, "POST", "/conversations/messages/inbound", {
      token,
      version: "2021-04-15",
      json: { type: "Custom", contactId, conversationId, message: "lost" },
    });
    expect(dropped.status).toBe(201);
    const seen = (await control(sim, "GET", `/locations/${sunrise}/inbound`)).body.messages;
    expect(seen.find((m: any) => m.altId === "WA1")).toMatchObject({
      dropped: false,
      message: "olá",
      contact: { phone: "+15550104050" },
    });
    expect(seen.find((m: any) => m.message === "lost")).toMatchObject({ dropped: true });
  });

  it("inbound with a date (an import of past messages): dated and ordered by it, never the conversation's last", async () => {
    const { contactId, conversationId } = await contactAndConversation("+15550104060");
    const post = (message: string, date?: string) =>
      api(sim, "POST", "/conversations/messages/inbound", {
        token,
        json: {
          type: "SMS",
          contactId,
          conversationId,
          conversationProviderId: sim.config.conversationProviderId,
          message,
          direction: "inbound",
          ...(date ? { date } : {}),
        },
      });
    const now = await post("today");
    const old = await post("last week", "2026-11-20T09:30:00.000Z");
    expect(old.body.dateAdded).toBe("2026-11-20T09:30:00.000Z");
    expect(now.body.dateAdded).not.toBe(old.body.dateAdded);
    const conv = (await control(sim, "GET", `/locations/${sunrise}/conversations`)).body.conversations.find(
      (c: any) => c.id === conversationId,
    );
    expect(conv.messages.map((m: any) => [m.body, m.dateAdded])).toEqual([
      ["last week", "2026-11-20T09:30:00.000Z"],
      ["today", now.body.dateAdded],
    ]);
    expect(conv.lastMessageBody).toBe("today");
  });

  it("status updates are recorded on the message; the provider race answers 403 for a while", async () => {
    const sent = await control(sim, "POST", `/locations/${sunrise}/messages`, {
      phone: "+15550105060",
      message: "Your appointment is at 3pm",
    });
    expect(sent.body.deliveryStatus).toBe(200);
    const id = sent.body.messageId;
    expect(
      (await api(sim, "PUT", `/conversations/messages/${id}/status`, { token, json: { status: "delivered" } })).status,
    ).toBe(200);
    const incomplete = await api(sim, "PUT", `/conversations/messages/${id}/status`, {
      token,
      json: { status: "failed", error: { code: "1" } },
    });
    expect(incomplete.status).toBe(422);
    const failed = await api(sim, "PUT", `/conversations/messages/${id}/status`, {
      token,
      json: { status: "failed", error: { code: "1", type: "saas", message: "not on WhatsApp" } },
    });
    expect(failed.body).toMatchObject({ messageId: id, status: "failed" });
    const msg = (await control(sim, "GET", `/messages/${id}`)).body;
    expect(msg.statuses.map((s: any) => s.status)).toEqual(["delivered", "failed"]);
    expect(msg.statuses[1].error.message).toBe("not on WhatsApp");

    await control(sim, "POST", "/settings", { providerRaceMs: 60_000 });
    const raced = await control(sim, "POST", `/locations/${sunrise}/messages`, {
      phone: "+15550105060",
      message: "again",
    });
    const race = await api(sim, "PUT", `/conversations/messages/${raced.body.messageId}/status`, {
      token,
      json: { status: "delivered" },
    });
    expect(race.status).toBe(403);
    expect(race.body.message).toBe("No conversation provider found");
    await control(sim, "POST", "/settings", { providerRaceMs: 0 });
  });

  it("upload: multipart fileAttachment returns hosted URLs without a query string", async () => {
    const { contactId, conversationId } = await contactAndConversation("+15550106070");
    const form = new FormData();
    form.set("conversationId", conversationId);
    form.set("contactId", contactId);
    form.set("locationId", sunrise);
    form.set("fileAttachment", new Blob([Buffer.from("%PDF-1.4 sandbox")], { type: "application/pdf" }), "menu.pdf");
    const r = await api(sim, "POST", "/conversations/messages/upload", { token, form });
    expect(r.status).toBe(200);
    const url = r.body.uploadedFiles["menu.pdf"] as string;
    expect(url).not.toContain("?");
    expect(await (await fetch(url)).text()).toBe("%PDF-1.4 sandbox");
  });

  it("faults: the next N calls to a path fail with the given status, then it heals", async () => {
    await control(sim, "POST", "/faults", { path: "/contacts/upsert", status: 503, times: 2 });
    const body = { locationId: sunrise, phone: "+15550107080" };
    expect((await api(sim, "POST", "/contacts/upsert", { token, json: body })).status).toBe(503);
    expect((await api(sim, "POST", "/contacts/upsert", { token, json: body })).status).toBe(503);
    expect((await api(sim, "POST", "/contacts/upsert", { token, json: body })).status).toBe(200);
    await control(sim, "POST", "/faults", {
      path: "/conversations/messages/*/status",
      status: 403,
      message: "No conversation provider found",
    });
    expect(
      (await api(sim, "PUT", "/conversations/messages/whatever/status", { token, json: { status: "read" } })).body
        .message,
    ).toBe("No conversation provider found");
  });

  it("429 with X-RateLimit-* headers after 100 calls in 10 s, counted per location", async () => {
    const other = (await install(sim, { locationId: SEED.locations[2].id })).tokens.body.access_token;
    const path = `/contacts/search/duplicate?locationId=${sunrise}&number=%2B15550000000`;
    let last = await api(sim, "GET", path, { token });
    for (let i = 0; i < 100 && last.status === 200; i++) last = await api(sim, "GET", path, { token });
    expect(last.status).toBe(429);
    expect(last.body).toMatchObject({ statusCode: 429 });
    expect(last.headers.get("x-ratelimit-max")).toBe("100");
    expect(last.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(last.headers.get("x-ratelimit-interval-milliseconds")).toBe("10000");
    expect(Number(last.headers.get("x-ratelimit-daily-remaining"))).toBeGreaterThan(0);
    const elsewhere = await api(
      sim,
      "GET",
      `/contacts/search/duplicate?locationId=${SEED.locations[2].id}&number=%2B1555`,
      { token: other },
    );
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers.get("x-ratelimit-limit-daily")).toBe("200000");
  });

  it("every recorded call validates against the OpenAPI files", async () => {
    const calls = (await control(sim, "GET", "/calls")).body.calls;
    expect(calls.length).toBeGreaterThan(100);
    expect(JSON.stringify(calls)).not.toContain(token);
    const failedStatus = calls.find(
      (c: any) => c.path.endsWith("/status") && c.requestBody?.error?.message === "not on WhatsApp",
    );
    expect(failedStatus.requestBody.error.code).toBe("1"); // only OAuth secrets are masked
    expect(await contractProblems(sim)).toEqual([]);
    // The walk is not vacuous: a response missing required fields is caught.
    const openapi = loadOpenApi(sim.config.openapiDir);
    const inbound = openapi.find("POST", "/conversations/messages/inbound")!.op;
    expect(openapi.validateResponse(inbound, 201, { success: true })).not.toEqual([]);
    expect(openapi.validateResponse(inbound, 429, { nope: 1 })).not.toEqual([]);
  });
});
