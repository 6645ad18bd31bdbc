import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { GET as locationEvents } from "@/app/api/events/route";
import { GET as instanceEvents } from "@/app/api/instances/[id]/events/route";
import { createApiKey, revokeApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { STREAM_RECHECK_MS } from "@/lib/events/hub";
import { heldStreamSlots } from "@/lib/events/stream-slots";
import { publishEvent } from "@/lib/instances/events";
import { redis } from "@/lib/redis";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";

// SSE streams used to be authenticated once, when opened: a revoked API key or an expired panel
// session kept receiving every QR of the location. The credential is now asked again before each
// QR and every 30 s; these open real streams through the route handlers against Postgres + Redis.
let restore: () => Promise<void>;
beforeAll(async () => {
  restore = useAppEnv({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    redisDb: 5,
    extra: { GHL_API_BASE_URL: "http://127.0.0.1:9", EVENTS_MAX_STREAMS_PER_LOCATION: "3" },
  });
  await db().company.create({ data: { id: "co1", name: "Agency" } });
  await db().location.create({ data: { id: "locA", name: "A", companyId: "co1" } });
  await db().instance.create({ data: { id: "a1", locationId: "locA", name: "wa-01" } });
  await db().location.create({ data: { id: "locB", name: "B", companyId: "co1" } });
  await db().instance.create({ data: { id: "b1", locationId: "locB", name: "wa-01" } });
});
afterAll(async () => restore());
afterEach(() => {
  vi.useRealTimers();
});

const qr = (n: number) => ({
  type: "instance.qr" as const,
  instanceId: "a1",
  qr: `2@qr-${n}`,
  expiresAt: new Date(Date.now() + 20_000).toISOString(),
});

/** Reads an SSE body: `next()` is the next chunk's text, or null when the stream ended. */
function sse(res: Response) {
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let ended = false;
  return {
    get ended() {
      return ended;
    },
    async next(ms = 5000): Promise<string | null> {
      const r = await Promise.race([
        reader.read(),
        new Promise<"timeout">((ok) => setTimeout(() => ok("timeout"), ms)),
      ]);
      if (r === "timeout") throw new Error(`no SSE chunk within ${ms} ms`);
      if (r.done) {
        ended = true;
        return null;
      }
      return dec.decode(r.value);
    },
    /** Skips keep-alives; the next data/event chunk or null at the end. */
    async nextEvent(ms = 5000): Promise<string | null> {
      for (;;) {
        const c = await this.next(ms);
        if (c === null || !c.startsWith(":")) return c;
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

async function opened(res: Promise<Response>) {
  const s = sse(await res);
  expect(await s.next()).toBe("retry: 3000\n\n");
  // the hub subscribes before the first chunk is pulled; give Redis a moment to confirm it
  await new Promise((r) => setTimeout(r, 50));
  return s;
}

describe("SSE streams re-check their credential", () => {
  it("a revoked API key receives no further QR: the stream ends at the next one, and cannot be reopened", async () => {
    const { id, key } = await createApiKey(db(), "locA", "n8n");
    const headers = { "x-api-key": key };
    const s = await opened(locationEvents(req("/api/events", { headers }), params({})));
    await publishEvent(redis(), "locA", qr(1));
    expect(await s.nextEvent()).toMatch(/^data: .*"qr":"2@qr-1"/);

    await revokeApiKey(db(), "locA", id);
    await publishEvent(redis(), "locA", qr(2));
    const after = await s.nextEvent();
    expect(after).toBe('event: end\ndata: {"reason":"credential_invalid"}\n\n');
    expect(await s.next()).toBeNull();
    expect((await locationEvents(req("/api/events", { headers }), params({}))).status).toBe(401);
  });

  it("the one-number stream too: a revoked key gets no QR of that number", async () => {
    const { id, key } = await createApiKey(db(), "locA", "zap");
    const s = await opened(
      instanceEvents(req("/api/instances/a1/events", { headers: { "x-api-key": key } }), params({ id: "a1" })),
    );
    await revokeApiKey(db(), "locA", id);
    await publishEvent(redis(), "locA", qr(3));
    expect(await s.nextEvent()).toMatch(/^event: end\n/);
    expect(await s.next()).toBeNull();
  });

  it("a quiet stream of a revoked key ends at the periodic re-check (30 s), not before", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { id, key } = await createApiKey(db(), "locA", "quiet");
    const s = await opened(locationEvents(req("/api/events", { headers: { "x-api-key": key } }), params({})));
    await revokeApiKey(db(), "locA", id);
    expect(STREAM_RECHECK_MS).toBe(30_000);
    await vi.advanceTimersByTimeAsync(STREAM_RECHECK_MS - 1000); // one keep-alive at 15 s, still open
    expect(await s.next()).toBe(": keep-alive\n\n");
    expect(s.ended).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await s.nextEvent()).toMatch(/^event: end\n/);
    expect(await s.next()).toBeNull();
  });

  it("a status event does not wait for a check; a valid key keeps its stream across re-checks", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { key } = await createApiKey(db(), "locA", "kept");
    const s = await opened(locationEvents(req("/api/events", { headers: { "x-api-key": key } }), params({})));
    await vi.advanceTimersByTimeAsync(STREAM_RECHECK_MS * 3);
    await publishEvent(redis(), "locA", qr(4));
    expect(await s.nextEvent()).toContain("2@qr-4");
    await publishEvent(redis(), "locA", {
      type: "instance.status",
      instanceId: "a1",
      status: "ONLINE",
      at: new Date().toISOString(),
    });
    expect(await s.nextEvent()).toContain('"status":"ONLINE"');
    expect(s.ended).toBe(false);
    await s.cancel();
  });

  it("a panel session ends its stream once it has expired", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"], now: Date.now() });
    const admin = identity({ locationId: "locA", companyId: "co1" });
    await ghlSays(redis(), admin);
    const cookie = await panelCookie(admin, 60);
    const s = await opened(locationEvents(req("/api/events", { headers: { cookie } }), params({})));
    await publishEvent(redis(), "locA", qr(5));
    expect(await s.nextEvent()).toContain("2@qr-5");
    vi.setSystemTime(Date.now() + 120_000); // past the session's expiry (and next-auth's 15 s tolerance)
    await vi.advanceTimersByTimeAsync(STREAM_RECHECK_MS);
    expect(await s.nextEvent()).toMatch(/^event: end\n/);
    expect(await s.next()).toBeNull();
  });

  it("a panel session of an uninstalled location gets no further QR", async () => {
    await db().location.upsert({
      where: { id: "locU" },
      create: { id: "locU", name: "U", companyId: "co1" },
      update: { installed: true },
    });
    const cookie = await panelCookie(identity({ locationId: "locU", companyId: "co1" }));
    const s = await opened(locationEvents(req("/api/events", { headers: { cookie } }), params({})));
    await db().location.update({ where: { id: "locU" }, data: { installed: false } });
    await publishEvent(redis(), "locU", { ...qr(6), instanceId: "u1" });
    expect(await s.nextEvent()).toMatch(/^event: end\n/);
  });
});

describe("what links a phone is an admin's to see", () => {
  const pairing = { type: "instance.pairing-code" as const, instanceId: "a1", code: "ABCD1234" };

  it("a location user's stream says a QR is waiting, without the QR or the pairing code; an admin's carries them", async () => {
    const user = identity({ locationId: "locA", companyId: "co1", userId: "u-user", role: "admin" }); // the payload's role is not what decides
    const admin = identity({ locationId: "locA", companyId: "co1", userId: "u-admin" });
    await ghlSays(redis(), user, { role: "user" });
    await ghlSays(redis(), admin);
    const us = await opened(
      locationEvents(req("/api/events", { headers: { cookie: await panelCookie(user) } }), params({})),
    );
    const as = await opened(
      instanceEvents(
        req("/api/instances/a1/events", { headers: { cookie: await panelCookie(admin) } }),
        params({ id: "a1" }),
      ),
    );
    await publishEvent(redis(), "locA", qr(7));
    await publishEvent(redis(), "locA", pairing);
    const u1 = await us.nextEvent();
    const u2 = await us.nextEvent();
    expect(JSON.parse(u1!.replace(/^data: /, ""))).toEqual({
      type: "instance.qr",
      instanceId: "a1",
      expiresAt: expect.any(String),
      withheld: "admin_required",
    });
    expect(u1).not.toContain("2@qr-7");
    expect(JSON.parse(u2!.replace(/^data: /, ""))).toEqual({
      type: "instance.pairing-code",
      instanceId: "a1",
      withheld: "admin_required",
    });
    expect(u2).not.toContain("ABCD1234");
    expect(await as.nextEvent()).toContain("2@qr-7");
    expect(await as.nextEvent()).toContain("ABCD1234");
    // the user's stream goes on: statuses still arrive
    await publishEvent(redis(), "locA", {
      type: "instance.status",
      instanceId: "a1",
      status: "ONLINE",
      at: new Date().toISOString(),
    });
    expect(await us.nextEvent()).toContain('"status":"ONLINE"');
    await us.cancel();
    await as.cancel();
  });

  it("GHL not answering about the user withholds the QR too (fails closed); an API key is not role-checked", async () => {
    // no role cached and GHL unreachable (GHL_API_BASE_URL is a closed port here)
    const stranger = identity({ locationId: "locA", companyId: "co1", userId: "u-unknown" });
    const s = await opened(
      locationEvents(req("/api/events", { headers: { cookie: await panelCookie(stranger) } }), params({})),
    );
    const { key } = await createApiKey(db(), "locA", "linker");
    const k = await opened(locationEvents(req("/api/events", { headers: { "x-api-key": key } }), params({})));
    await publishEvent(redis(), "locA", qr(8));
    expect(await s.nextEvent(15_000)).toContain('"withheld":"admin_required"');
    expect(await k.nextEvent()).toContain("2@qr-8");
    await s.cancel();
    await k.cancel();
  });
});

describe("a location's live event streams are capped", () => {
  it("opens at most EVENTS_MAX_STREAMS_PER_LOCATION at once (both routes together); a closed one gives its slot back", async () => {
    const { key } = await createApiKey(db(), "locB", "dashboard");
    const headers = { "x-api-key": key };
    const a = await opened(locationEvents(req("/api/events", { headers }), params({})));
    const b = await opened(instanceEvents(req("/api/instances/b1/events", { headers }), params({ id: "b1" })));
    const c = await opened(locationEvents(req("/api/events", { headers }), params({})));
    expect(await heldStreamSlots(redis(), "locB")).toBe(3);
    const full = await locationEvents(req("/api/events", { headers }), params({}));
    expect(full.status).toBe(429);
    expect(full.headers.get("retry-after")).toBe("30");
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    expect((await instanceEvents(req("/api/instances/b1/events", { headers }), params({ id: "b1" }))).status).toBe(429);
    // another location is not affected by locB's streams
    const other = await createApiKey(db(), "locA", "other");
    const o = await opened(locationEvents(req("/api/events", { headers: { "x-api-key": other.key } }), params({})));
    await o.cancel();

    await b.cancel();
    for (let i = 0; i < 50 && (await heldStreamSlots(redis(), "locB")) > 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await heldStreamSlots(redis(), "locB")).toBe(2);
    const d = await opened(locationEvents(req("/api/events", { headers }), params({})));
    await publishEvent(redis(), "locB", {
      type: "instance.status",
      instanceId: "b1",
      status: "ONLINE",
      at: new Date().toISOString(),
    });
    expect(await d.nextEvent()).toContain('"status":"ONLINE"');
    for (const s of [a, c, d]) await s.cancel();
  });
});
