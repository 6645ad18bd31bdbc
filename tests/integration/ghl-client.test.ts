import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as callbackRoute } from "@/app/api/oauth/callback/route";
import { GET as installRoute } from "@/app/api/oauth/install/route";
import { createDb, db } from "@/lib/db";
import { GhlApiError, ghlClient } from "@/lib/ghl/client";
import { refreshGrant } from "@/lib/ghl/oauth";
import { waitForGhlSlot } from "@/lib/ghl/rate-window";
import { forgetAccessToken, refreshTenant } from "@/lib/ghl/token-refresh";
import { metrics } from "@/lib/ops/metrics";
import { enqueueGhl, GHL_QUEUE } from "@/lib/queue/ghl-jobs";
import { redis } from "@/lib/redis";
import { loadPair } from "@/lib/tenants/token-store";
import { startGhlSyncWorker } from "@/worker/jobs/ghl-sync";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { installThroughApp, startGhlHarness, waitUntil } from "./helpers/ghl-harness";

const SUNRISE = "SunriseDental0000001";
const HARBOR = "HarborRealty00000001";
let h: Awaited<ReturnType<typeof startGhlHarness>>;
let dbUrl: string;

beforeAll(async () => {
  dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  h = await startGhlHarness({
    databaseUrl: dbUrl,
    routes: { "GET /api/oauth/install": installRoute, "GET /api/oauth/callback": callbackRoute },
  });
  for (const locationId of [SUNRISE, HARBOR]) {
    await installThroughApp(h.appUrl, { locationId });
  }
});
afterAll(async () => h.close());

type Call = { path: string; status: number; locationId?: string; headers: { version?: string } };
const calls = async (p: string) =>
  (await h.control<{ calls: Call[] }>("GET", `/calls?path=${encodeURIComponent(p)}`)).body.calls;
const validPairs = async (locationId: string) =>
  (await h.control<{ validPairs: number }>("GET", `/tokens?locationId=${locationId}`)).body.validPairs;
const search = (id: string, o = {}) =>
  ghlClient(id, { baseDelayMs: 20, ...o })<{ contact: unknown }>(
    "GET",
    `/contacts/search/duplicate?locationId=${id}&number=%2B15550009999`,
  );
const fp = (t: string) => createHash("sha256").update(t).digest("hex").slice(0, 12);

describe("the GHL client", () => {
  it("refreshes transparently when GHL expired the token in the middle of the day (401 → refresh once → retry)", async () => {
    const before = await loadPair(db(), "location", SUNRISE);
    await h.control("DELETE", "/calls");
    expect((await h.control<{ expired: number }>("POST", "/tokens/expire", { locationId: SUNRISE })).body.expired).toBe(
      1,
    );
    await expect(search(SUNRISE)).resolves.toHaveProperty("contact");
    expect((await calls("/contacts/search/duplicate")).map((c) => c.status)).toEqual([401, 200]);
    const after = await loadPair(db(), "location", SUNRISE);
    expect(after!.accessToken).not.toBe(before!.accessToken);
    expect(await validPairs(SUNRISE)).toBe(1);
  });

  it("refreshes ahead of expiry, before GHL would refuse the call", async () => {
    await db().location.update({ where: { id: SUNRISE }, data: { tokenExpiresAt: new Date(Date.now() + 60_000) } });
    // this process reuses the pair it read last (30 s); the edit above stands for time passing
    forgetAccessToken(db(), "location", SUNRISE);
    await h.control("DELETE", "/calls");
    await search(SUNRISE);
    expect((await calls("/contacts/search/duplicate")).map((c) => c.status)).toEqual([200]);
    expect((await calls("/oauth/token")).length).toBe(1);
    expect((await loadPair(db(), "location", SUNRISE))!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3600_000);
  });

  it("reuses the pair it read last, and takes up one another process refreshed without refreshing again", async () => {
    await search(SUNRISE); // this process now holds SUNRISE's pair
    const mine = (await loadPair(db(), "location", SUNRISE))!;
    // another process (its own database client, so its own memory) refreshes the tenant
    const other = createDb(dbUrl, 1);
    try {
      await refreshTenant({ db: other, redis: redis() }, "location", SUNRISE, mine.expiresAt);
    } finally {
      await other.$disconnect();
    }
    expect((await loadPair(db(), "location", SUNRISE))!.accessToken).not.toBe(mine.accessToken);
    await h.control("POST", "/tokens/expire", { locationId: SUNRISE, accessToken: mine.accessToken });
    await h.control("DELETE", "/calls");
    await expect(search(SUNRISE)).resolves.toHaveProperty("contact");
    await expect(search(SUNRISE)).resolves.toHaveProperty("contact");
    // the reused old token is refused once; the refresh path finds the stored newer pair and keeps it
    expect((await calls("/contacts/search/duplicate")).map((c) => c.status)).toEqual([401, 200, 200]);
    expect(await calls("/oauth/token")).toHaveLength(0);
  });

  it("two processes forced to refresh the same tenant at once end with one valid token pair, both using it", async () => {
    const seen = (await loadPair(db(), "location", HARBOR))!.expiresAt;
    // a slow token endpoint widens the race a lock-free implementation would lose
    await h.control("POST", "/faults", { path: "/oauth/token", delayMs: 400, times: 2 });
    const children = [0, 1].map(() => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.join(import.meta.dirname, "helpers/ghl-refresh-child.ts"),
          JSON.stringify({ locationId: HARBOR, seenExpiry: seen.toISOString() }),
        ],
        {
          env: { ...process.env, LOG_LEVEL: "silent" },
          stdio: ["pipe", "pipe", "pipe"],
        },
      );
      let out = "";
      const ready = new Promise<void>((r) =>
        child.stdout.on("data", (d) => ((out += d), out.includes("ready") && r())),
      );
      const result = new Promise<{ ok: boolean; access?: string; error?: string }>((resolve, reject) =>
        child.on("exit", () => {
          const last = out.trim().split("\n").pop()!;
          return last.startsWith("{") ? resolve(JSON.parse(last)) : reject(new Error(`child printed ${out}`));
        }),
      );
      return { child, ready, result };
    });
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin.end("go\n");
    const run = (i: number) => children[i].result;
    const [a, b] = await Promise.all([run(0), run(1)]);
    expect(a.ok && b.ok, JSON.stringify([a, b])).toBe(true);
    expect(a.access).toBe(b.access);
    expect(await validPairs(HARBOR)).toBe(1);
    const stored = await loadPair(db(), "location", HARBOR);
    expect(fp(stored!.accessToken)).toBe(a.access);
    expect((await db().location.findUniqueOrThrow({ where: { id: HARBOR } })).needsReinstall).toBe(false);
    await expect(search(HARBOR)).resolves.toHaveProperty("contact");
  }, 60_000);

  it("backs off and retries on 429 and 5xx, and gives up with GHL's status after the last retry", async () => {
    await h.control("POST", "/faults", { path: "/contacts/search/duplicate", status: 429, times: 2 });
    await expect(search(SUNRISE)).resolves.toHaveProperty("contact");
    await h.control("POST", "/faults", { path: "/contacts/search/duplicate", status: 503, times: 2 });
    await expect(search(SUNRISE)).resolves.toHaveProperty("contact");
    await h.control("POST", "/faults", { path: "/contacts/search/duplicate", status: 502, times: 3 });
    const err = await search(SUNRISE, { maxRetries: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GhlApiError);
    expect((err as GhlApiError).httpStatus).toBe(502);
  });

  it("sends each endpoint family its own Version header", async () => {
    await h.control("DELETE", "/calls");
    await search(SUNRISE);
    await ghlClient(SUNRISE)("GET", `/conversations/search?locationId=${SUNRISE}&contactId=nobody`).catch(
      () => undefined,
    );
    expect((await calls("/contacts/*"))[0].headers.version).toBe("2021-07-28");
    expect((await calls("/conversations/*"))[0].headers.version).toBe("2021-04-15");
  });

  it("marks the location needsReinstall when GHL answers invalid_grant, and says so", async () => {
    // someone else spent our refresh token (e.g. a restored backup refreshed it): ours is now dead
    const pair = (await loadPair(db(), "location", SUNRISE))!;
    await refreshGrant(pair.refreshToken!, "Location");
    await h.control("POST", "/tokens/expire", { locationId: SUNRISE });
    const err = await search(SUNRISE).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "needs_reinstall" });
    expect((await db().location.findUniqueOrThrow({ where: { id: SUNRISE } })).needsReinstall).toBe(true);
    expect(await db().auditEvent.count({ where: { locationId: SUNRISE, action: "tokens.invalid_grant" } })).toBe(1);
  });

  it("paces per location: the call over the burst limit waits for the window, another location does not", async () => {
    const r = new Redis(`${process.env.TEST_REDIS_URL}/1`);
    const limit = { max: 3, windowMs: 400 };
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) await waitForGhlSlot(r, "location:pace-a", limit);
    expect(Date.now() - t0).toBeLessThan(200);
    await waitForGhlSlot(r, "location:pace-b", limit);
    expect(Date.now() - t0).toBeLessThan(200);
    await waitForGhlSlot(r, "location:pace-a", limit);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
    await r.quit();
  });

  it("a status update right after a delivery meets GHL's 403 provider race: the GHL queue retries with backoff until it passes, without refreshing the token", async () => {
    await h.control("POST", "/settings", { providerRaceMs: 1500 });
    // the queue in a Redis database of its own (see ghl-queue.test.ts)
    const conn = new Redis(`${process.env.TEST_REDIS_URL}/6`, { maxRetriesPerRequest: null });
    await conn.flushdb();
    const queue = new Queue(GHL_QUEUE, {
      connection: conn,
      defaultJobOptions: { attempts: 8, backoff: { type: "exponential", delay: 250 }, removeOnFail: false },
    });
    const consumer = startGhlSyncWorker({
      db: db(),
      connection: conn,
      queue,
      ghlFor: (id) => ghlClient(id),
      cfg: { appUrl: h.appUrl, conversationProviderId: "" },
      log: pino({ level: "silent" }),
      sweepEveryMs: 3_600_000,
    });
    try {
      const sent = await h.control<{ messageId: string }>("POST", `/locations/${HARBOR}/messages`, {
        phone: "+15550107080",
        message: "See you at 3",
      });
      const t0 = Date.now();
      await h.control("DELETE", "/calls");
      await enqueueGhl(queue, {
        kind: "status",
        locationId: HARBOR,
        messageId: "m-race",
        ghlMessageId: sent.body.messageId,
        status: "delivered",
      });
      const statuses = await waitUntil(async () => {
        const m = (await h.control<{ statuses: { status: string }[] }>("GET", `/messages/${sent.body.messageId}`)).body;
        return m.statuses.length ? m.statuses.map((x) => x.status) : null;
      }, 15_000);
      expect(statuses).toEqual(["delivered"]);
      const puts = await calls("/conversations/messages/*/status");
      expect(puts.map((c) => c.status)).toContain(403);
      expect(puts[puts.length - 1].status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1400); // it waited the race out, not one lucky retry
      expect(await calls("/oauth/token")).toEqual([]); // a 403 is not an expired token
      // GHL has the status once the handler's call returned; the job's "completed" comes a moment later
      const text = await waitUntil(async () => {
        const t = await metrics().render();
        return /^gw_ghl_job_age_seconds_count\{kind="status"\}/m.test(t) ? t : null;
      }, 5_000);
      expect(
        Number(/^gw_ghl_api_calls_total\{method="PUT",status="403"\} (\d+)$/m.exec(text)?.[1]),
      ).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/^gw_ghl_job_age_seconds_count\{kind="status"\} 1$/m);
    } finally {
      await consumer.stop();
      await queue.close();
      await conn.quit();
      await h.control("POST", "/settings", { providerRaceMs: 0 });
    }
  });
});
