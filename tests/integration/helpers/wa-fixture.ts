import { Agent } from "node:https";
import { Redis } from "ioredis";
import pino from "pino";
import { keyringFrom } from "@/lib/crypto";
import type { Db } from "@/lib/db";
import { createDb } from "@/lib/db";
import type { InstanceEvent } from "@/lib/events/live-events";
import { eventsChannel } from "@/lib/instances/events";
import { subscribeWhenReady } from "@/lib/redis";
import { startWaSimulator } from "@/sandbox/whatsapp/server";
import { createMessaging } from "@/worker/messaging/messaging-hooks";
import { type ManagerDeps, SessionManager } from "@/worker/whatsapp/session-manager";
import { useAppEnv } from "./app-env";
import { cloneTemplateDb, dbNameFor } from "./db";

type MessagingDeps = Parameters<typeof createMessaging>[0];

// A session manager wired to a test database, Redis DB 1 and an in-process WhatsApp simulator,
// configured the way the worker configures it (worker/main.ts), with short timers.
export type SimInfo = { url: string; wsUrl: string; rootPublicKey: string; mediaCaPem: string };

export function managerConfig(sim: SimInfo, databaseUrl: string, workerId: string) {
  return {
    databaseUrl,
    redisUrl: `${process.env.TEST_REDIS_URL}/1`,
    encryptionKey: process.env.ENCRYPTION_KEY!,
    wsUrl: sim.wsUrl,
    rootPublicKey: sim.rootPublicKey,
    mediaCaPem: sim.mediaCaPem,
    workerId,
  };
}
export type ManagerConfig = ReturnType<typeof managerConfig>;

export function makeManager(db: Db, c: ManagerConfig, extra: Partial<ManagerDeps> = {}) {
  const redis = new Redis(c.redisUrl);
  const subscriber = new Redis(c.redisUrl);
  const m = new SessionManager({
    db,
    redis,
    subscriber,
    workerId: c.workerId,
    leaseTtlMs: 4000,
    wsUrl: c.wsUrl,
    sandboxRootPublicKey: c.rootPublicKey,
    fetchAgent: new Agent({ ca: c.mediaCaPem }),
    sandboxMediaCaPem: c.mediaCaPem,
    keys: keyringFrom(c.encryptionKey),
    log: testLog(),
    scanEveryMs: 400,
    backoff: { baseMs: 200, capMs: 2000, failAfter: 5 },
    watchdogMs: 15_000,
    ...extra,
  });
  return {
    m,
    async close() {
      await m.stop();
      await redis.quit();
      await subscriber.quit();
    },
  };
}

/**
 * One worker as worker/main.ts wires it (send loops, inbound and receipts, sessions) over shared
 * `db` and `redis`, for tests that run several workers side by side; not started.
 */
export function makeMessagingWorker(
  f: { db: Db; redis: Redis; sim: SimInfo; dbUrl: string },
  workerId: string,
  o: { textDelayMs: number; pollMs: number; notifyGhl?: MessagingDeps["notifyGhl"]; manager?: Partial<ManagerDeps> },
) {
  const wake = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  const messaging = createMessaging({
    db: f.db,
    redis: f.redis,
    subscriber: wake,
    notifyGhl: o.notifyGhl ?? (async () => {}),
    log: pino({ level: "silent" }),
    pollMs: o.pollMs,
    cfg: {
      TEXT_DELAY_MS: o.textDelayMs,
      MEDIA_DELAY_MS_MIN: 0,
      MEDIA_DELAY_MS_MAX: 0,
      MEDIA_URL_ALLOWED_ORIGINS: [] as string[],
    },
  });
  const w = makeManager(f.db, managerConfig(f.sim, f.dbUrl, workerId), { hooks: messaging.hooks, ...o.manager });
  return {
    m: w.m,
    async start() {
      await messaging.start();
      await w.m.start();
    },
    async close() {
      await w.close();
      await messaging.stop();
      await wake.quit();
    },
  };
}

/** Collects the live events of one location, as the panel's SSE would see them. */
export async function watchEvents(redisUrl: string, locationId: string) {
  const sub = new Redis(redisUrl);
  const events: InstanceEvent[] = [];
  sub.on("message", (_c, raw: string) => events.push(JSON.parse(raw) as InstanceEvent));
  await subscribeWhenReady(sub, eventsChannel(locationId));
  return { events, close: () => sub.quit() };
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  ms = 30_000,
  every = 100,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export async function simCall<T = unknown>(
  sim: { url: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export type SimDevice = {
  phone: string;
  jid: string;
  deviceId: number;
  connected: boolean;
  connections: number;
  maxConcurrentConnections: number;
  logins: number;
  pairings: number;
};

// WA_TEST_LOG=/tmp/x.log writes the managers' logs there (info), for debugging a failing test
const logFile = process.env.WA_TEST_LOG;
let shared: pino.Logger | undefined;
function testLog(): pino.Logger {
  if (!logFile) return pino({ level: "silent" });
  shared ??= pino({ level: "info" }, pino.destination({ dest: logFile, sync: true }));
  return shared;
}

/**
 * The worker's messaging side on the real client: a fresh test database (with the app env, so
 * media signing has its key), an in-process WhatsApp simulator, Redis DB 1 flushed, the send
 * loops/inbound/receipt hooks, and a session manager wired to them (not started).
 */
export async function startMessagingFixture(o: {
  testFile: string;
  workerId: string;
  pool: number;
  textDelayMs?: number;
  notifyGhl?: MessagingDeps["notifyGhl"];
  log?: pino.Logger;
  manager?: Partial<ManagerDeps>;
  /** origins the worker may fetch media from although they are local (MEDIA_URL_ALLOWED_ORIGINS) */
  mediaAllowedOrigins?: string[];
  /** largest inbound attachment imported (default 100 MB) */
  maxMediaBytes?: number;
  /** the send loops' clock (the warm-up governor's days) */
  clock?: MessagingDeps["clock"];
  /** a GHL contact's tags (routing by tag) */
  contactTags?: MessagingDeps["contactTags"];
  /** how long a number stays not ONLINE before routing around it moves its messages */
  offlineGraceMs?: MessagingDeps["offlineGraceMs"];
}) {
  const url = await cloneTemplateDb(dbNameFor(o.testFile));
  const restore = useAppEnv({ databaseUrl: url });
  const db = createDb(url, o.pool);
  const sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  const redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  const wake = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  const messaging = createMessaging({
    db,
    redis,
    subscriber: wake,
    notifyGhl: o.notifyGhl ?? (async () => {}),
    log: o.log ?? pino({ level: "silent" }),
    pollMs: 300,
    maxMediaBytes: o.maxMediaBytes,
    clock: o.clock,
    contactTags: o.contactTags,
    offlineGraceMs: o.offlineGraceMs,
    cfg: {
      TEXT_DELAY_MS: o.textDelayMs ?? 0,
      MEDIA_DELAY_MS_MIN: 0,
      MEDIA_DELAY_MS_MAX: 0,
      MEDIA_URL_ALLOWED_ORIGINS: [sim.url, ...(o.mediaAllowedOrigins ?? [])],
    },
  });
  await messaging.start();
  const worker = makeManager(db, managerConfig(sim as never, url, o.workerId), {
    hooks: messaging.hooks,
    ...o.manager,
  });
  return {
    db,
    dbUrl: url,
    sim,
    redis,
    worker,
    messaging,
    async close() {
      await worker.close();
      await messaging.stop();
      await wake.quit();
      await redis.quit();
      await sim.close();
      await db.$disconnect();
      await restore();
    },
  };
}

/**
 * Starts the fixture's worker and links `number` to instance `instanceId` of `locationId` by
 * scanning the QR it publishes; resolves once the instance is ONLINE.
 */
export async function linkNumberByQr(
  f: { db: Db; sim: { url: string }; worker: { m: { start(): Promise<unknown> } } },
  locationId: string,
  number: string,
  instanceId: string,
): Promise<void> {
  const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, locationId);
  try {
    await f.worker.m.start();
    const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
    await simCall(f.sim, "POST", `/__sandbox/phones/${number}/scan`, { qr: (qr as { qr: string }).qr });
    await until(
      "ONLINE",
      async () => (await f.db.instance.findUnique({ where: { id: instanceId } }))?.status === "ONLINE",
    );
    // the phone sends a new companion its history right after linking: in and acknowledged first
    await until("the phone's history sync delivered", async () => {
      const d = (
        await simCall<(SimDevice & { historySyncs: number; unacked: number })[]>(f.sim, "GET", "/__sandbox/devices")
      ).find((x) => x.jid.startsWith(`${number}:`));
      return (d?.historySyncs ?? 0) > 0 && d?.unacked === 0;
    });
  } finally {
    await ev.close();
  }
}
