import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as getInstance } from "@/app/api/instances/[id]/route";
import { GET as listInstances } from "@/app/api/instances/route";
import { GET as getMessage } from "@/app/api/messages/[id]/route";
import { POST as send } from "@/app/api/send/route";
import { GET as getQr } from "@/app/api/wa/qr/[instanceId]/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { take } from "@/lib/http/rate-limit";
import { redis } from "@/lib/redis";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { identity, panelCookie } from "./helpers/panel-cookie";

// The direct API's rate limits, kept in Redis: per API key (here 4 per minute) and per location,
// over all of its keys (6 per minute). Past either: 429 with Retry-After in seconds.
let restore: () => Promise<void>;
let key1: string;
let key2: string;
let keyOther: string;
let cookieA: string;

beforeAll(async () => {
  restore = useAppEnv({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    redisDb: 3,
    extra: { API_RATE_LIMIT_PER_KEY: "4", API_RATE_LIMIT_PER_LOCATION: "6", API_RATE_LIMIT_WINDOW_SECONDS: "60" },
  });
  await redis().flushdb();
  await db().company.create({ data: { id: "co1", name: "Agency" } });
  await db().location.createMany({
    data: [
      { id: "locA", name: "A", companyId: "co1" },
      { id: "locB", name: "B", companyId: "co1" },
    ],
  });
  await db().instance.create({ data: { id: "ia", locationId: "locA", name: "wa-01" } });
  key1 = (await createApiKey(db(), "locA", "one")).key;
  key2 = (await createApiKey(db(), "locA", "two")).key;
  keyOther = (await createApiKey(db(), "locB", "other")).key;
  cookieA = await panelCookie(identity({ locationId: "locA", companyId: "co1" }));
});
afterAll(async () => {
  await redis().flushdb();
  await restore();
});

const h = (key: string) => ({ "x-api-key": key });
// one call to each kind of direct-API route, in turn: they share one budget
const calls = [
  (k: string) =>
    send(
      req("/api/send", {
        method: "POST",
        json: { instanceId: "wa-01", to: "+15557654321", type: "text", message: "hi" },
        headers: h(k),
      }),
      params({}),
    ),
  (k: string) => listInstances(req("/api/instances", { headers: h(k) }), params({})),
  (k: string) =>
    getMessage(req("/api/messages/nope", { headers: { authorization: `Bearer ${k}` } }), params({ id: "nope" })),
  (k: string) => getQr(req("/api/wa/qr/wa-01", { headers: h(k) }), params({ instanceId: "wa-01" })),
  (k: string) => getInstance(req("/api/instances/ia", { headers: h(k) }), params({ id: "ia" })),
];

describe("direct API rate limits", () => {
  it("per key: the 5th call within the window is 429 with Retry-After, whatever the route", async () => {
    for (let i = 0; i < 4; i++) expect((await calls[i](key1)).status, `call ${i}`).not.toBe(429);
    for (const c of calls) {
      const r = await c(key1);
      expect(r.status).toBe(429);
      const after = Number(r.headers.get("retry-after"));
      expect(Number.isInteger(after) && after >= 1 && after <= 15).toBe(true); // 60 s / 4: one call back every 15 s
      expect((await r.json()).error).toMatchObject({
        code: "rate_limited",
        message: expect.stringMatching(/this API key.*at most 4 per 60 s/),
      });
    }
  });

  it("per location: its other keys share the location's budget; another location is untouched", async () => {
    // key1 used 4 of locA's 6; key2 gets the last 2
    expect((await calls[1](key2)).status).toBe(200);
    expect((await calls[2](key2)).status).toBe(404);
    const r = await calls[1](key2);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await r.json()).error.message).toMatch(/this location.*at most 6 per 60 s/);
    expect((await calls[1](keyOther)).status).toBe(200);
  });

  it("the panel (session cookie) is not limited by the API's budget", async () => {
    const r = await listInstances(
      req("/api/instances", { headers: { cookie: cookieA, origin: "http://127.0.0.1:3999" } }),
      params({}),
    );
    expect(r.status).toBe(200);
  });
});

describe("lib/http/rate-limit take() against Redis", () => {
  it("allows `limit` at once, then refuses until one refills, and says when", async () => {
    const l = { key: "gw:rl:test:refill", limit: 3, windowMs: 900 };
    for (let i = 0; i < 3; i++) expect((await take(redis(), [l])).ok).toBe(true);
    const no = await take(redis(), [l]);
    expect(no.ok).toBe(false);
    const wait = no.ok ? 0 : no.retryAfterMs;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(300);
    await new Promise((r) => setTimeout(r, wait + 30));
    expect((await take(redis(), [l])).ok).toBe(true);
    expect((await take(redis(), [l])).ok).toBe(false);
  });

  it("is atomic: 100 concurrent takes of a 20-per-minute limit let exactly 20 through", async () => {
    const l = { key: "gw:rl:test:burst", limit: 20, windowMs: 60_000 };
    const rs = await Promise.all(Array.from({ length: 100 }, () => take(redis(), [l])));
    expect(rs.filter((r) => r.ok)).toHaveLength(20);
  });

  it("takes from every limit or from none: a call refused by one does not spend the other", async () => {
    const wide = { key: "gw:rl:test:wide", limit: 10, windowMs: 60_000 };
    const narrow = { key: "gw:rl:test:narrow", limit: 1, windowMs: 60_000 };
    expect((await take(redis(), [wide, narrow])).ok).toBe(true);
    for (let i = 0; i < 5; i++) expect(await take(redis(), [wide, narrow])).toMatchObject({ ok: false, limit: narrow });
    // wide has spent 1 of 10, not 6
    for (let i = 0; i < 9; i++) expect((await take(redis(), [wide])).ok, `wide ${i}`).toBe(true);
    expect((await take(redis(), [wide])).ok).toBe(false);
  });
});
