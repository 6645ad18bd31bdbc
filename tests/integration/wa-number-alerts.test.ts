import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as subscriptionRoute } from "@/app/api/ghl/workflows/subscription/route";
import { GET as callbackRoute } from "@/app/api/oauth/callback/route";
import { GET as installRoute } from "@/app/api/oauth/install/route";
import { POST as ackRoute } from "@/app/api/panel/alerts/[id]/acknowledge/route";
import { GET as alertsRoute } from "@/app/api/panel/alerts/route";
import { NUMBER_STATUS_TRIGGER_KEY } from "@/lib/alerts/number-status-payload";
import { ghlClient } from "@/lib/ghl/client";
import { configureWebhook, HOOKS_QUEUE } from "@/lib/outgoing-webhooks/outgoing-webhooks";
import { SANDBOX_WORKFLOW_SECRET } from "@/sandbox/ghl/config";
import { startAlertOutbox } from "@/worker/jobs/alert-outbox";
import { startOutgoingWebhookWorker } from "@/worker/jobs/outgoing-webhooks";
import { params, req } from "./helpers/app-env";
import { installThroughApp, startGhlHarness } from "./helpers/ghl-harness";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";
import { linkNumberByQr, simCall, startMessagingFixture, until } from "./helpers/wa-fixture";

// The number logs out (the phone unlinks it, through the real Baileys client against the WhatsApp
// simulator): the panel's banner, the location's `number.status` webhook and the GHL workflow
// trigger "WhatsApp number status changed" (through the GHL simulator, which a workflow subscribed
// to) each say so once, with the reason. Before that, a dropped socket that comes back within the
// grace raises nothing.
const PHONE = "15557770001";
const LOC = "AlertLoc000000000001";
const CO = "AlertCo0000000000001";
const REASON = "the phone unlinked this number; scan a new QR";
const GRACE_MS = 1500;

type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
let f: Fixture;
let h: Awaited<ReturnType<typeof startGhlHarness>>;
let hooksConn: Redis;
let queue: Queue;
let consumer: ReturnType<typeof startOutgoingWebhookWorker>;
let outbox: ReturnType<typeof startAlertOutbox>;
let receiver: Server;
const received: { type: string; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  f = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "alerts-worker",
    pool: 8,
    manager: { alertGraceMs: GRACE_MS },
  });
  h = await startGhlHarness({
    databaseUrl: f.dbUrl,
    routes: {
      "GET /api/oauth/install": installRoute,
      "GET /api/oauth/callback": callbackRoute,
      "POST /api/ghl/workflows/subscription": subscriptionRoute,
    },
    env: { GHL_WORKFLOW_SECRET: SANDBOX_WORKFLOW_SECRET },
  });
  // the location installs the app (real OAuth: its token is what the trigger is fired with)
  expect((await h.control("POST", "/companies", { id: CO, name: "Alert agency" })).status).toBe(201);
  expect((await h.control("POST", "/locations", { id: LOC, name: "Alert location", companyId: CO })).status).toBe(201);
  const done = await installThroughApp(h.appUrl, { locationId: LOC });
  expect(done.status).toBe(303);
  await f.db.instance.create({ data: { id: "ia", locationId: LOC, name: "wa-01" } });
  await simCall(f.sim, "POST", "/__sandbox/phones", { phone: PHONE });

  // the location's automation webhook, received here
  receiver = createServer((rq, rs) => {
    const chunks: Buffer[] = [];
    rq.on("data", (c: Buffer) => chunks.push(c));
    rq.on("end", () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      rs.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  await configureWebhook(f.db, LOC, `${hookUrl}/hook`, { allowedOrigins: [hookUrl] });

  // the worker's side of alerts, as worker/messaging/runtime.ts wires it
  hooksConn = new Redis(`${process.env.TEST_REDIS_URL}/1`, { maxRetriesPerRequest: null });
  queue = new Queue(HOOKS_QUEUE, { connection: hooksConn });
  consumer = startOutgoingWebhookWorker({
    db: f.db,
    connection: hooksConn.duplicate(),
    log: pino({ level: "silent" }),
    allowedOrigins: [hookUrl],
    ghl: { ghlFor: (loc) => ghlClient(loc, { db: f.db, redis: f.redis }), apiBaseUrl: h.ghl.url },
  });
  outbox = startAlertOutbox({ db: f.db, queue, log: pino({ level: "silent" }), everyMs: 200 });
}, 60_000);

afterAll(async () => {
  await outbox?.stop();
  await consumer?.stop();
  await queue?.close();
  await hooksConn?.quit();
  receiver?.closeAllConnections();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  await h?.close();
  await f?.close();
});

const who = identity({ locationId: LOC, companyId: CO });
const panel = async (who_ = who) => {
  await ghlSays(f.redis, who_, { role: who_.role === "admin" ? "admin" : "user" });
  return { cookie: await panelCookie(who_), origin: h.appUrl };
};
const banner = async () => {
  const res = await alertsRoute(req("/api/panel/alerts", { headers: await panel() }), params({}));
  expect(res.status).toBe(200);
  return ((await res.json()) as { alerts: { id: string; number: string; status: string; reason: string }[] }).alerts;
};
const fired = async () =>
  (
    await h.control<{ events: { payload: Record<string, unknown>; ran: boolean }[] }>(
      "GET",
      `/workflows/events?locationId=${LOC}`,
    )
  ).body.events;
const statusHooks = () => received.filter((e) => e.type === "number.status");

describe("alerts when a number logs out", { retry: 0 }, () => {
  it("a GHL workflow adopts the trigger: the app keeps where to fire it", async () => {
    const r = await h.control("POST", "/workflows", { locationId: LOC, triggerKey: NUMBER_STATUS_TRIGGER_KEY });
    expect(r.status).toBe(201);
    expect(r.body.subscription.status).toBe(200);
    const subs = await f.db.workflowSubscription.findMany({ where: { locationId: LOC } });
    expect(subs.map((s) => s.targetUrl)).toEqual([r.body.targetUrl]);
  });

  it("links the number; a dropped socket that comes back within the grace raises nothing", {
    timeout: 60_000,
  }, async () => {
    await linkNumberByQr(f, LOC, PHONE, "ia");
    const before = (await f.db.instance.findUniqueOrThrow({ where: { id: "ia" } })).connectedAt!;
    await simCall(f.sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "drop" });
    await until(
      "back ONLINE after the drop",
      async () => {
        const i = await f.db.instance.findUniqueOrThrow({ where: { id: "ia" } });
        return i.status === "ONLINE" && i.connectedAt!.getTime() > before.getTime();
      },
      30_000,
    );
    await new Promise((r) => setTimeout(r, GRACE_MS + 1000));
    expect(await f.db.numberAlert.count({ where: { locationId: LOC } })).toBe(0);
    expect(await banner()).toEqual([]);
    expect(await fired()).toEqual([]);
    expect(statusHooks()).toEqual([]);
  });

  it("the phone unlinks it: banner, number.status webhook and GHL trigger, once each, with the reason", {
    timeout: 60_000,
  }, async () => {
    await simCall(f.sim, "POST", `/__sandbox/phones/${PHONE}/unlink`, {});
    await until(
      "LOGGED_OUT",
      async () => (await f.db.instance.findUniqueOrThrow({ where: { id: "ia" } })).status === "LOGGED_OUT",
      30_000,
    );
    await until("the GHL trigger fired", async () => (await fired()).length > 0, 20_000, 100);
    await until("the webhook delivered", async () => statusHooks().length > 0, 20_000, 100);
    // and nothing more comes: once per transition
    await new Promise((r) => setTimeout(r, 2000));

    const alerts = await banner();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ number: "wa-01", status: "LOGGED_OUT", reason: REASON });

    const events = await fired();
    expect(events).toHaveLength(1);
    expect(events[0].ran).toBe(true);
    expect(events[0].payload).toMatchObject({
      number: "wa-01",
      status: "LOGGED_OUT",
      reason: REASON,
      alertId: alerts[0].id,
      locationId: LOC,
    });

    expect(statusHooks()).toHaveLength(1);
    expect(statusHooks()[0]).toMatchObject({
      type: "number.status",
      locationId: LOC,
      data: { number: "wa-01", status: "LOGGED_OUT", reason: REASON, alertId: alerts[0].id },
    });
  });

  it("the banner stays until an admin dismisses it; a user may not, another location cannot", async () => {
    const [alert] = await banner();
    const user = identity({ locationId: LOC, companyId: CO, userId: "u-2", role: "user" });
    const asUser = await ackRoute(
      req("/x", { method: "POST", json: {}, headers: await panel(user) }),
      params({ id: alert.id }),
    );
    expect(asUser.status).toBe(403);
    expect(await banner()).toHaveLength(1);

    const other = identity({ locationId: "OtherLoc00000000001", companyId: CO });
    const foreign = await ackRoute(
      req("/x", { method: "POST", json: {}, headers: await panel(other) }),
      params({ id: alert.id }),
    );
    expect([401, 403, 404]).toContain(foreign.status);
    expect(await banner()).toHaveLength(1);

    const ok = await ackRoute(
      req("/x", { method: "POST", json: {}, headers: await panel() }),
      params({ id: alert.id }),
    );
    expect(ok.status).toBe(200);
    expect(await banner()).toEqual([]);
    // dismissing it delivers nothing again
    expect(await fired()).toHaveLength(1);
    expect(statusHooks()).toHaveLength(1);
  });
});
