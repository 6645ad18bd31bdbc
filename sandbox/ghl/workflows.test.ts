import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GhlSimulator } from "./server";
import { ALL_SCOPES, api, control, install, startFakeApp, startSim } from "./test-kit";

// The simulator's Marketplace workflow triggers and actions (workflows.ts): what it posts to the
// app, and what its trigger URL accepts.
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;
let locationId: string;
let token: string;

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({
    workflowSubscriptionUrl: `${app.url}/sub`,
    workflowActionUrls: { send: `${app.url}/act` },
    workflowHeaders: { "x-secret": "s3cret" },
  });
  locationId = (await control(sim, "GET", "/locations")).body.locations[0].id;
  token = (await install(sim, { locationId }, `${ALL_SCOPES} workflows.readonly`)).tokens.body.access_token;
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

describe("GHL workflows in the simulator", () => {
  it("a workflow adopting a trigger posts the Subscription URL as GHL documents it, with the developer's headers", async () => {
    const r = await control(sim, "POST", "/workflows", {
      locationId,
      triggerKey: "k1",
      filters: [{ field: "status", value: "BANNED" }],
    });
    expect(r.status).toBe(201);
    const got = await app.waitFor((x) => x.path === "/sub");
    expect(got.headers["x-secret"]).toBe("s3cret");
    expect(got.json).toMatchObject({
      triggerData: { id: r.body.triggerId, key: "k1", eventType: "CREATED", targetUrl: r.body.targetUrl },
      meta: { key: "k1" },
      extras: { locationId, workflowId: r.body.workflowId },
    });
    expect(got.json.triggerData.filters[0]).toMatchObject({ field: "status", operator: "==", value: "BANNED" });
  });

  it("the trigger URL wants the location's token, a Version and workflows.readonly; filters decide whether the workflow runs", async () => {
    const {
      body: { workflows },
    } = await control(sim, "GET", `/workflows?locationId=${locationId}`);
    const path = new URL(workflows[0].targetUrl).pathname;
    expect((await api(sim, "POST", path, { json: { status: "BANNED" } })).status).toBe(401);
    expect((await api(sim, "POST", path, { token, version: null, json: { status: "BANNED" } })).status).toBe(401);
    expect((await api(sim, "POST", path, { token, json: { status: "BANNED" } })).status).toBe(200);
    expect((await api(sim, "POST", path, { token, json: { status: "LOGGED_OUT" } })).status).toBe(200);
    const events = (await control(sim, "GET", `/workflows/events?locationId=${locationId}`)).body.events;
    expect(events.map((e: { ran: boolean }) => e.ran)).toEqual([true, false]);

    const other = (await control(sim, "GET", "/locations")).body.locations[1].id;
    const otherToken = (await install(sim, { locationId: other }, `${ALL_SCOPES} workflows.readonly`)).tokens.body
      .access_token;
    expect((await api(sim, "POST", path, { token: otherToken, json: {} })).status).toBe(403);
  });

  it("a deleted trigger is told to the app, and its URL is gone", async () => {
    const {
      body: { workflows },
    } = await control(sim, "GET", `/workflows?locationId=${locationId}`);
    expect((await control(sim, "DELETE", `/workflows/${workflows[0].id}`)).status).toBe(200);
    await app.waitFor((x) => x.path === "/sub" && x.json.triggerData.eventType === "DELETED");
    expect((await api(sim, "POST", new URL(workflows[0].targetUrl).pathname, { token, json: {} })).status).toBe(404);
  });

  it("an action posts {data, extras, meta} to the action's URL; not offered without workflows.readonly", async () => {
    const r = await control(sim, "POST", "/workflows/actions", {
      locationId,
      key: "send",
      contactId: "c1",
      data: { message: "hi" },
    });
    expect(r.body.status).toBe(200);
    const got = await app.waitFor((x) => x.path === "/act");
    expect(got.headers["x-secret"]).toBe("s3cret");
    expect(got.json).toMatchObject({
      data: { message: "hi" },
      extras: { locationId, contactId: "c1" },
      meta: { key: "send" },
    });
    const third = (await control(sim, "GET", "/locations")).body.locations[2].id;
    await install(sim, { locationId: third });
    expect(
      (await control(sim, "POST", "/workflows/actions", { locationId: third, key: "send", data: {} })).status,
    ).toBe(409);
    expect((await control(sim, "POST", "/workflows", { locationId: third, triggerKey: "k1" })).status).toBe(409);
  });
});
