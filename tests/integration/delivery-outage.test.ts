import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ghl/delivery/route";
import { createDb, type Db } from "@/lib/db";
import { logger } from "@/lib/log";
import { DeliverySpool, spoolKey } from "@/lib/messages/delivery-spool";
import { OUTBOUND_CHANNEL } from "@/lib/messages/outbound-signal";
import { metrics } from "@/lib/ops/metrics";
import { redis as appRedis, subscribeWhenReady } from "@/lib/redis";
import { type GhlSimulator, startGhlSimulator } from "@/sandbox/ghl/server";
import { startDeliverySpoolDrain } from "@/worker/jobs/delivery-spool-drain";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { hostPort, tcpProxy, viaProxy } from "./helpers/tcp-proxy";

// The Delivery URL while Postgres (and then Redis) is away (decision record 006). GHL resends
// only a 429, so a 500 loses the message: a signed call is spooled in Redis and answered 200, or
// answered 429 when Redis refuses too; the worker's drain stores the spool once Postgres is back,
// each message once, in the order GHL sent them. The app's Postgres and Redis are reached through
// TCP proxies that the test cuts (the servers other tests use are never touched).
const ed = generateKeyPairSync("ed25519", {
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const rsa = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const REDIS_DB = 7;
const SIM_LOCATION = "SunriseDental0000001";

const pgProxy = tcpProxy(hostPort(process.env.TEST_PG_SERVER_URL!, 5432));
const redisProxy = tcpProxy(hostPort(process.env.TEST_REDIS_URL!, 6379));
let restore: () => Promise<void>;
let direct: Db; // the test's own look at the database, not through the proxy
let redis: Redis; // the test's (and the drain's) own Redis connection, not through the proxy
let sub: Redis;
let drain: ReturnType<typeof startDeliverySpoolDrain>;
const woken: string[] = [];
const spool = () => new DeliverySpool(redis);

beforeAll(async () => {
  const url = await cloneTemplateDb(dbNameFor(import.meta.filename));
  await pgProxy.start();
  await redisProxy.start();
  direct = createDb(url, 2);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/${REDIS_DB}`);
  await redis.flushdb();
  sub = new Redis(`${process.env.TEST_REDIS_URL}/${REDIS_DB}`);
  await subscribeWhenReady(sub, OUTBOUND_CHANNEL);
  sub.on("message", (_c, m) => woken.push(m));
  restore = useAppEnv({
    databaseUrl: viaProxy(url, pgProxy.port),
    extra: {
      REDIS_URL: `${viaProxy(process.env.TEST_REDIS_URL!, redisProxy.port)}/${REDIS_DB}`,
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: ed.publicKey,
      GHL_WEBHOOK_PUBLIC_KEY_RSA: rsa.publicKey,
    },
  });
  appRedis().on("error", () => {}); // ioredis prints unhandled connection errors with console.error
  await direct.location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locGone", name: "Gone", installed: false },
      { id: SIM_LOCATION, name: "Sunrise" },
    ],
  });
  await direct.instance.createMany({
    data: [
      { id: "i1", locationId: "locA", name: "wa-01" },
      { id: "s1", locationId: SIM_LOCATION, name: "wa-01" },
    ],
  });
  // the worker's drain, as worker/main.ts starts it, with its Postgres behind the same proxy
  drain = startDeliverySpoolDrain({ db: createDb(viaProxy(url, pgProxy.port), 2), redis, log: logger(), everyMs: 100 });
});
afterAll(async () => {
  await drain?.stop();
  await restore?.();
  await pgProxy.stop();
  await redisProxy.stop();
  await direct?.$disconnect();
  await redis?.quit();
  await sub?.quit();
});

const payload = (o: Record<string, unknown> = {}) => ({
  contactId: "c1",
  locationId: "locA",
  messageId: `g${Math.random().toString(36).slice(2)}`,
  type: "SMS",
  phone: "+15550007777",
  message: "Hello from GHL",
  attachments: [],
  ...o,
});
function call(body: unknown, how: "signed" | "forged" | "none" = "signed") {
  const raw = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (how === "signed")
    headers["x-ghl-signature"] = sign(null, raw, createPrivateKey(ed.privateKey)).toString("base64");
  if (how === "forged")
    headers["x-ghl-signature"] = sign(null, Buffer.from("something else"), createPrivateKey(ed.privateKey)).toString(
      "base64",
    );
  return POST(req("/api/ghl/delivery", { method: "POST", body: raw, headers }), params({}));
}
async function until<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end)
      throw new Error(
        `timed out waiting for ${what} (last: ${JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x))})`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
const metricValue = async (name: string, labels = "") => {
  const line = (await metrics().render()).split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(" ").pop());
};

describe("Delivery URL while Postgres is away", () => {
  it("answers signed deliveries 200 from the spool, never 500; once Postgres is back each is stored once, in order, and queued for its number", async () => {
    // Postgres answering: stored directly (and the app's pool holds live connections to cut)
    const before = payload({ message: "before" });
    expect(await (await call(before)).json()).toMatchObject({ status: "QUEUED", duplicate: false });

    await pgProxy.stop();
    const c1 = (i: number) => payload({ contactId: "c1", phone: "+15550001001", message: `c1 #${i}` });
    const c2 = (i: number) => payload({ contactId: "c2", phone: "+15550001002", message: `c2 #${i}` });
    const sent = [c1(1), c2(1), c1(2), c1(3), c2(2), c2(3), c1(4), c2(4), c1(5), c2(5)];
    const resent = sent[2]; // GHL (or a user double-clicking) delivers the same messageId again
    const gone = payload({ locationId: "locGone", message: "for a location that uninstalled" });
    for (const p of [...sent.slice(0, 5), resent, gone, ...sent.slice(5)]) {
      const r = await call(p);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ ok: true, spooled: true });
    }
    // calls that are wrong by themselves are refused as before, and nothing is spooled for them
    expect((await call(payload(), "forged")).status).toBe(401);
    expect((await call(payload(), "none")).status).toBe(401);
    expect((await call("{not json")).status).toBe(400);
    expect((await call({ hello: "world" })).status).toBe(400);
    expect((await call(payload({ type: "Email", phone: undefined }))).status).toBe(422);
    // no phone: only Postgres knows whether GHL's contact is one WhatsApp wrote from by its LID,
    // so it waits in the spool like the rest, and is refused at the drain (this contact is unknown)
    const noPhone = payload({ phone: undefined, contactId: "never-wrote", message: "to a contact without phone" });
    expect(await (await call(noPhone)).json()).toMatchObject({ ok: true, spooled: true });
    const big = Buffer.alloc(1024 * 1024 + 1, 32);
    // over the cap: refused before the signature can be checked (an unsigned one is a 401 unread)
    expect(
      (
        await POST(
          req("/api/ghl/delivery", {
            method: "POST",
            body: big,
            headers: { "content-type": "application/json", "x-ghl-signature": "c2ln" },
          }),
          params({}),
        )
      ).status,
    ).toBe(413);

    expect(await spool().size()).toBe(13);
    expect(await metricValue("gw_delivery_spool_messages")).toBe(13);
    // sealed: neither the text nor the phone is readable in Redis
    const rawEntries = await redis.lrange(spoolKey("locA"), 0, -1);
    expect(rawEntries.join("\n")).not.toMatch(/c1 #|Hello|1555000/);
    // the drain keeps trying while Postgres is away and neither drops nor dead-letters anything
    await new Promise((r) => setTimeout(r, 1500));
    expect(await spool().size()).toBe(13);
    expect(await spool().deadCount("locA")).toBe(0);
    expect(await direct.message.count({ where: { ghlMessageId: { in: sent.map((p) => p.messageId) } } })).toBe(0);

    // Postgres is back: one more delivery at once, which must wait behind the spooled ones
    const restoredAt = new Date();
    await pgProxy.start();
    const after = c1(6);
    expect((await call(after)).status).toBe(200);
    await until(
      "the spool to drain",
      () => spool().size(),
      (n) => n === 0,
    );

    const ids = [...sent, after].map((p) => p.messageId);
    const rows = await direct.message.findMany({
      where: { ghlMessageId: { in: [...ids, gone.messageId, noPhone.messageId] } },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }], // the send loop's order (worker/messaging/outbound-sender.ts)
      include: { contact: true },
    });
    expect(rows.map((m) => m.ghlMessageId)).toEqual(ids); // each once, in GHL's order; the uninstalled location's dropped
    expect(rows.every((m) => m.status === "QUEUED" && m.instanceId === "i1" && m.direction === "OUTBOUND")).toBe(true);
    for (const phone of ["+15550001001", "+15550001002"]) {
      const texts = rows.filter((m) => m.contact?.phone === phone).map((m) => m.text);
      expect(texts).toEqual(
        [1, 2, 3, 4, 5, ...(phone.endsWith("1") ? [6] : [])].map((i) => `c${phone.slice(-1)} #${i}`),
      );
    }
    // a spooled message keeps the time it came as its place in the queue
    for (const m of rows.slice(0, sent.length)) expect(m.createdAt.getTime()).toBeLessThan(restoredAt.getTime());
    expect(await direct.message.count({ where: { ghlMessageId: resent.messageId } })).toBe(1);
    expect(await direct.message.count({ where: { locationId: "locGone" } })).toBe(0);
    await until(
      "the number's send loop to be woken",
      async () => woken.filter((w) => w === "i1").length,
      (n) => n >= 11,
    );
    expect(await metricValue("gw_delivery_spool_messages")).toBe(0);
    expect(await metricValue("gw_delivery_spool_drained_total", '{outcome="duplicate"}')).toBe(1);
    expect(await metricValue("gw_delivery_spool_drained_total", '{outcome="refused"}')).toBe(2);

    // and with the spool empty, deliveries go straight to Postgres again
    expect(await (await call(payload({ message: "normal again" }))).json()).toMatchObject({
      status: "QUEUED",
      duplicate: false,
    });
  });

  it("spools a delivery Postgres does not answer in time (a hung server), and stores it once when the held write lands too", async () => {
    const p = payload({ message: "Postgres hangs" });
    pgProxy.freeze();
    const thaw = setTimeout(() => pgProxy.thaw(), 8000); // hung for 8 s, then it answers again
    let r: Response;
    try {
      r = await call(p); // waits for the handler's Postgres timeout (4 s), then spools
    } finally {
      clearTimeout(thaw);
      pgProxy.thaw();
    }
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ spooled: true });
    await until(
      "the spool to drain",
      () => spool().size(),
      (n) => n === 0,
    );
    await new Promise((res) => setTimeout(res, 300)); // the held write, if it was still on its way
    expect(await direct.message.count({ where: { ghlMessageId: p.messageId } })).toBe(1);
  });

  it("answers 429 with Retry-After when Redis refuses too, and stores the message when GHL resends it", async () => {
    const p = payload({ message: "nowhere to put it" });
    await pgProxy.stop();
    await redisProxy.stop();
    try {
      const r = await call(p);
      expect(r.status).toBe(429);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await r.json()).toMatchObject({ error: { code: "rate_limited" } });
    } finally {
      await pgProxy.start();
      await redisProxy.start();
    }
    expect(await spool().size()).toBe(0);
    expect(await direct.message.count({ where: { ghlMessageId: p.messageId } })).toBe(0);
    const again = await until(
      "the app to take the resent call",
      () => call(p).then((r) => r.status),
      (s) => s === 200,
    );
    expect(again).toBe(200);
    await until(
      "the message to be stored",
      () => direct.message.count({ where: { ghlMessageId: p.messageId } }),
      (n) => n === 1,
    );
  });
});

describe("Delivery URL and GHL's retries (the simulator)", () => {
  let sim: GhlSimulator;
  let app: Server;
  let answer500 = 0;

  beforeAll(async () => {
    // the route handler behind a real HTTP port; `answer500` makes the next calls fail as a broken app would
    app = createServer(async (q, res) => {
      const chunks: Buffer[] = [];
      for await (const c of q) chunks.push(c as Buffer);
      if (answer500 > 0) {
        answer500--;
        res.writeHead(500, { "content-type": "application/json" }).end("{}");
        return;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(q.headers)) if (typeof v === "string") headers.set(k, v);
      const r = await POST(req(q.url ?? "/", { method: q.method, headers, body: Buffer.concat(chunks) }), params({}));
      res.writeHead(r.status, Object.fromEntries(r.headers)).end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    sim = await startGhlSimulator({ port: 0, seed: true, appBaseUrl: url, ed25519: ed, rsa, webhookRetryDelayMs: 300 });
  });
  afterAll(async () => {
    await sim?.close();
    app?.closeAllConnections();
    await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
  });

  const control = async (method: string, path: string, json?: unknown) => {
    const r = await fetch(`${sim.url}/__sandbox${path}`, {
      method,
      headers: json ? { "content-type": "application/json" } : {},
      body: json ? JSON.stringify(json) : undefined,
    });
    return (await r.json()) as any;
  };
  const attemptsOf = async (messageId: string) =>
    (await control("GET", `/messages/${messageId}`)).delivery as { attempts: { status: number }[]; done: boolean };

  it("a delivery answered 429 during the outage is resent by GHL and stored once; one answered 500 is never resent", async () => {
    await pgProxy.stop();
    await redisProxy.stop();
    let first: any;
    try {
      first = await control("POST", `/locations/${SIM_LOCATION}/messages`, {
        phone: "+15550109999",
        message: "sent while everything was down",
      });
      expect(first.deliveryStatus).toBe(429);
    } finally {
      await pgProxy.start();
      await redisProxy.start();
    }
    const d = await until(
      "GHL's resend to be taken",
      () => attemptsOf(first.messageId),
      (x) => x.done,
    );
    expect(d.attempts[0].status).toBe(429);
    expect(d.attempts.at(-1)!.status).toBe(200);
    await until(
      "the message to be stored",
      () => direct.message.count({ where: { ghlMessageId: first.messageId } }),
      (n) => n === 1,
    );
    const row = await direct.message.findUniqueOrThrow({ where: { ghlMessageId: first.messageId } });
    expect(row).toMatchObject({
      locationId: SIM_LOCATION,
      instanceId: "s1",
      text: "sent while everything was down",
      status: "QUEUED",
    });

    // what today's app did during an outage: a 500, which GHL takes as final
    answer500 = 1;
    const lost = await control("POST", `/locations/${SIM_LOCATION}/messages`, {
      phone: "+15550109999",
      message: "lost to a 500",
    });
    expect(lost.deliveryStatus).toBe(500);
    await new Promise((res) => setTimeout(res, 300 * 4));
    const l = await attemptsOf(lost.messageId);
    expect(l).toMatchObject({ done: true });
    expect(l.attempts.map((a) => a.status)).toEqual([500]);
    expect(await direct.message.count({ where: { ghlMessageId: lost.messageId } })).toBe(0);
  });
});
