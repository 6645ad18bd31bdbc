import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { startWaSimulator } from "@/sandbox/whatsapp/server";
import { createMessaging } from "@/worker/messaging/messaging-hooks";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { hostPort, tcpProxy, viaProxy } from "./helpers/tcp-proxy";
import { makeManager, managerConfig, simCall, until, watchEvents } from "./helpers/wa-fixture";

// Receipts and messages that arrive while the worker's Postgres is away are not dropped: they
// stay unacknowledged at WhatsApp (so not even a Redis emptied meanwhile can lose them) and are
// applied, once and in order, when Postgres is back — statuses reaching GHL too.
const NUMBER = "15557770001";
const CONTACT = "15557779991";
const pgProxy = tcpProxy(hostPort(process.env.TEST_PG_SERVER_URL!, 5432));
let direct: Db;
let workerDb: Db;
let sim: Awaited<ReturnType<typeof startWaSimulator>>;
let redis: Redis;
let wake: Redis;
let messaging: ReturnType<typeof createMessaging>;
let worker: ReturnType<typeof makeManager>;
const jobs: GhlJob[] = [];

beforeAll(async () => {
  const url = await cloneTemplateDb(dbNameFor(import.meta.filename));
  await pgProxy.start();
  direct = createDb(url, 2);
  workerDb = createDb(viaProxy(url, pgProxy.port), 4);
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  wake = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await direct.location.create({ data: { id: "locO", name: "O" } });
  await direct.instance.create({ data: { id: "io", locationId: "locO", name: "wa-01" } });
  for (const phone of [NUMBER, CONTACT]) await simCall(sim, "POST", "/__sandbox/phones", { phone });
  messaging = createMessaging({
    db: workerDb,
    redis,
    subscriber: wake,
    notifyGhl: async (j) => void jobs.push(j),
    log: pino({ level: "silent" }),
    pollMs: 200,
    cfg: { TEXT_DELAY_MS: 0, MEDIA_DELAY_MS_MIN: 0, MEDIA_DELAY_MS_MAX: 0, MEDIA_URL_ALLOWED_ORIGINS: [] as string[] },
  });
  await messaging.start();
  worker = makeManager(workerDb, managerConfig(sim as never, url, "outage-worker"), { hooks: messaging.hooks });
  const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locO");
  await worker.m.start();
  const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
  await simCall(sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
  await until("ONLINE", async () => (await direct.instance.findUnique({ where: { id: "io" } }))?.status === "ONLINE");
  await ev.close();
});
afterAll(async () => {
  await pgProxy.start().catch(() => {});
  await worker?.close();
  await messaging?.stop();
  await wake?.quit();
  await redis?.quit();
  await sim?.close();
  await workerDb?.$disconnect();
  await direct?.$disconnect();
  await pgProxy.stop();
});

describe("Postgres away from the worker", { retry: 0 }, () => {
  it("receipts and messages wait unacknowledged, then apply once, in order, and reach GHL", async () => {
    const r = await acceptOutbound(direct, redis, {
      locationId: "locO",
      ghlMessageId: "O-1",
      phone: `+${CONTACT}`,
      text: "Reminder: tomorrow 9:00",
      attachments: [],
      source: "GHL",
    });
    await publishOutboundQueued(redis, "io");
    const got = await until(
      "on the contact's phone",
      async () =>
        (await simCall<{ id: string; text?: string }[]>(sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`)).find(
          (m) => m.text === "Reminder: tomorrow 9:00",
        ),
      20_000,
    );
    await until("SENT", async () => (await direct.message.findUnique({ where: { id: r.id } }))?.status === "SENT");

    await pgProxy.stop(); // Postgres gone, for the worker only
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/receipts`, { messageIds: [got.id], type: "delivered" });
    await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/receipts`, { messageIds: [got.id], type: "read" });
    const texts = ["ok", "see you", "thanks!"];
    for (const t of texts) await simCall(sim, "POST", `/__sandbox/phones/${CONTACT}/send`, { to: NUMBER, text: t });
    await new Promise((res) => setTimeout(res, 3000));
    expect((await direct.message.findUniqueOrThrow({ where: { id: r.id } })).status).toBe("SENT");
    expect(await direct.message.count({ where: { instanceId: "io", direction: "INBOUND" } })).toBe(0);
    // nothing of it waits in Redis: emptying Redis now (a failover without persistence) loses nothing
    await redis.flushdb();

    await pgProxy.start();
    await until(
      "READ",
      async () => (await direct.message.findUnique({ where: { id: r.id } }))?.status === "READ",
      60_000,
    );
    const rows = await until(
      "the three messages",
      async () => {
        const m = await direct.message.findMany({
          where: { instanceId: "io", direction: "INBOUND" },
          orderBy: [{ createdAt: "asc" }, { seq: "asc" }],
        });
        return m.length >= 3 ? m : undefined;
      },
      60_000,
    );
    expect(rows.map((m) => m.text)).toEqual(texts);
    await until(
      "delivered and read for GHL",
      async () =>
        ["delivered", "read"].every((s) =>
          jobs.some((j) => j.kind === "status" && j.ghlMessageId === "O-1" && j.status === s),
        ),
      15_000,
    );
    expect(jobs.filter((j) => j.kind === "inbound").length).toBe(3);
    const devices = await simCall<{ phone: string; pairings: number }[]>(sim, "GET", "/__sandbox/devices");
    expect(devices.find((d) => d.phone === NUMBER)?.pairings).toBe(1);
  });
});
