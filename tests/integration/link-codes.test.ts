import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GET as locationEvents } from "@/app/api/events/route";
import { GET as instanceEvents } from "@/app/api/instances/[id]/events/route";
import { GET as getInstance } from "@/app/api/instances/[id]/route";
import { GET as listInstances } from "@/app/api/instances/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { publishEvent } from "@/lib/instances/events";
import {
  clearLinkCodes,
  linkCodeEvents,
  linkCodesOf,
  pairingCodeKey,
  qrKey,
  storePairingCode,
  storeQr,
} from "@/lib/instances/link-codes";
import { redis } from "@/lib/redis";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";

// A number waiting for its scan used to show "Preparing the QR code…" until WhatsApp rotated the
// code, because the QR only travelled live on the event stream. Now the worker keeps the current
// QR and pairing code in Redis with their expiry, and one reader (lib/instances/link-codes.ts)
// serves the streams (right after connecting) and the instances list and detail, to admins only.
let restore: () => Promise<void>;
let adminCookie: string;
let userCookie: string;
beforeAll(async () => {
  // GHL unreachable: roles come from the seeded cache only (ghlSays); an unknown user fails closed
  restore = useAppEnv({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    redisDb: 7,
    extra: { GHL_API_BASE_URL: "http://127.0.0.1:9" },
  });
  await redis().flushdb();
  await db().company.create({ data: { id: "co1", name: "Agency" } });
  await db().location.createMany({
    data: [
      { id: "locA", name: "A", companyId: "co1" },
      { id: "locB", name: "B", companyId: "co1" },
    ],
  });
  await db().instance.createMany({
    data: [
      { id: "a1", locationId: "locA", name: "wa-01", status: "QR" },
      { id: "a2", locationId: "locA", name: "wa-02", status: "ONLINE", phone: "+15550000002" },
      { id: "b1", locationId: "locB", name: "wa-01", status: "QR" },
    ],
  });
  const admin = identity({ locationId: "locA", companyId: "co1", userId: "u-admin" });
  const user = identity({ locationId: "locA", companyId: "co1", userId: "u-user" });
  await ghlSays(redis(), admin);
  await ghlSays(redis(), user, { role: "user" });
  adminCookie = await panelCookie(admin);
  userCookie = await panelCookie(user);
});
afterAll(async () => restore());
beforeEach(async () => {
  for (const id of ["a1", "a2", "b1"]) await clearLinkCodes(redis(), id);
});

describe("the QR and pairing-code store", () => {
  it("keeps a QR exactly for what is left of its validity, and drops it after", async () => {
    const e = await storeQr(redis(), "a1", "2@short", 400);
    expect(Date.parse(e.expiresAt) - Date.now()).toBeLessThanOrEqual(400);
    const ttl = await redis().pttl(qrKey("a1"));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(400);
    expect((await linkCodesOf(redis(), ["a1"])).get("a1")).toEqual({ qr: e });
    // past its expiry it is not offered, even before Redis has dropped it
    expect((await linkCodesOf(redis(), ["a1"], Date.parse(e.expiresAt) + 1)).has("a1")).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    expect(await redis().exists(qrKey("a1"))).toBe(0);
    expect((await linkCodesOf(redis(), ["a1"])).has("a1")).toBe(false);
  });

  it("keeps a pairing code next to the QR; clearing (open, close, logout) removes both", async () => {
    const q = await storeQr(redis(), "a1", "2@qr", 20_000);
    const p = await storePairingCode(redis(), "a1", "ABCD1234", 60_000);
    expect(await redis().pttl(pairingCodeKey("a1"))).toBeGreaterThan(59_000);
    expect((await linkCodesOf(redis(), ["a1", "a2"])).get("a1")).toEqual({ qr: q, pairingCode: p });
    expect((await linkCodesOf(redis(), ["a1", "a2"])).has("a2")).toBe(false);
    await clearLinkCodes(redis(), "a1");
    expect(await redis().exists(qrKey("a1"), pairingCodeKey("a1"))).toBe(0);
    expect((await linkCodesOf(redis(), ["a1"])).size).toBe(0);
  });

  it("reads only the location's own numbers", async () => {
    await storeQr(redis(), "a1", "2@a", 20_000);
    await storeQr(redis(), "b1", "2@b-secret", 20_000);
    const events = await linkCodeEvents(db(), redis(), "locA");
    expect(events).toEqual([{ type: "instance.qr", instanceId: "a1", qr: "2@a", expiresAt: expect.any(String) }]);
    expect(await linkCodeEvents(db(), redis(), "locA", "b1")).toEqual([]);
  });
});

describe("the instances list and detail carry the waiting code, to admins only", () => {
  it("an admin's list shows the QR and pairing code with their expiry; nothing for a number without one", async () => {
    const q = await storeQr(redis(), "a1", "2@list-qr", 20_000);
    await storePairingCode(redis(), "a1", "WXYZ9876");
    const r = await listInstances(req("/api/instances", { headers: { cookie: adminCookie } }), params({}));
    expect(r.status).toBe(200);
    const body = (await r.json()) as { instances: { id: string; linking: unknown }[] };
    const byId = Object.fromEntries(body.instances.map((i) => [i.id, i.linking]));
    expect(byId.a1).toEqual({
      qr: "2@list-qr",
      qrExpiresAt: q.expiresAt,
      pairingCode: "WXYZ9876",
      pairingCodeExpiresAt: expect.any(String),
    });
    expect(byId.a2).toBeNull();
    expect(Object.keys(byId).sort()).toEqual(["a1", "a2"]);
    const one = await (
      await getInstance(req("/api/instances/a1", { headers: { cookie: adminCookie } }), params({ id: "a1" }))
    ).json();
    expect(one.instance.linking.qr).toBe("2@list-qr");
  });

  it("a location user learns a code waits, never the code; an API key gets it", async () => {
    await storeQr(redis(), "a1", "2@user-must-not-see", 20_000);
    await storePairingCode(redis(), "a1", "SECRET12");
    const r = await listInstances(req("/api/instances", { headers: { cookie: userCookie } }), params({}));
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(text).not.toContain("2@user-must-not-see");
    expect(text).not.toContain("SECRET12");
    const a1 = (JSON.parse(text) as { instances: { id: string; linking: Record<string, unknown> }[] }).instances.find(
      (i) => i.id === "a1",
    )!;
    expect(a1.linking).toMatchObject({ qr: null, pairingCode: null, withheld: "admin_required" });
    const one = await (
      await getInstance(req("/api/instances/a1", { headers: { cookie: userCookie } }), params({ id: "a1" }))
    ).text();
    expect(one).not.toContain("2@user-must-not-see");
    const { key } = await createApiKey(db(), "locA", "n8n");
    const viaKey = await (
      await listInstances(req("/api/instances", { headers: { "x-api-key": key } }), params({}))
    ).json();
    expect(viaKey.instances.find((i: { id: string }) => i.id === "a1").linking.qr).toBe("2@user-must-not-see");
  });

  it("another tenant's number stays a 404, its code unread", async () => {
    await storeQr(redis(), "b1", "2@b-secret", 20_000);
    const r = await getInstance(req("/api/instances/b1", { headers: { cookie: adminCookie } }), params({ id: "b1" }));
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain("2@b-secret");
  });
});

describe("the event streams send the waiting code as soon as a client connects", () => {
  it("an admin gets the current QR and pairing code first, and again on every reconnect", async () => {
    await storeQr(redis(), "a1", "2@stream-qr", 20_000);
    await storePairingCode(redis(), "a1", "PAIR5678");
    for (let connect = 0; connect < 2; connect++) {
      const s = await opened(locationEvents(req("/api/events", { headers: { cookie: adminCookie } }), params({})));
      const t0 = Date.now();
      const first = await s.nextEvent();
      const second = await s.nextEvent();
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(JSON.parse(first!.replace(/^data: /, ""))).toEqual({
        type: "instance.qr",
        instanceId: "a1",
        qr: "2@stream-qr",
        expiresAt: expect.any(String),
      });
      expect(JSON.parse(second!.replace(/^data: /, ""))).toMatchObject({
        type: "instance.pairing-code",
        instanceId: "a1",
        code: "PAIR5678",
      });
      // and the live ones after it
      await new Promise((r) => setTimeout(r, 50));
      await publishEvent(redis(), "locA", {
        type: "instance.qr",
        instanceId: "a1",
        qr: "2@rotated",
        expiresAt: new Date(Date.now() + 20_000).toISOString(),
      });
      expect(await s.nextEvent()).toContain("2@rotated");
      await s.cancel();
    }
  });

  it("a location user's stream says a QR waits, without it", async () => {
    await storeQr(redis(), "a1", "2@not-for-users", 20_000);
    const s = await opened(locationEvents(req("/api/events", { headers: { cookie: userCookie } }), params({})));
    const first = await s.nextEvent();
    expect(first).not.toContain("2@not-for-users");
    expect(JSON.parse(first!.replace(/^data: /, ""))).toEqual({
      type: "instance.qr",
      instanceId: "a1",
      expiresAt: expect.any(String),
      withheld: "admin_required",
    });
    await s.cancel();
  });

  it("the one-number stream sends that number's code only; nothing once it was cleared", async () => {
    await storeQr(redis(), "a1", "2@only-a1", 20_000);
    const s = await opened(
      instanceEvents(req("/api/instances/a1/events", { headers: { cookie: adminCookie } }), params({ id: "a1" })),
    );
    expect(await s.nextEvent()).toContain("2@only-a1");
    await s.cancel();
    await clearLinkCodes(redis(), "a1");
    const again = await opened(
      instanceEvents(req("/api/instances/a1/events", { headers: { cookie: adminCookie } }), params({ id: "a1" })),
    );
    await new Promise((r) => setTimeout(r, 50));
    await publishEvent(redis(), "locA", {
      type: "instance.status",
      instanceId: "a1",
      status: "ONLINE",
      at: new Date().toISOString(),
    });
    expect(await again.nextEvent()).toContain('"status":"ONLINE"'); // no stale QR before it
    await again.cancel();
  });
});

/** Reads an SSE body: `nextEvent()` is the next data/event chunk (keep-alives skipped), or null at the end. */
async function opened(res: Promise<Response>) {
  const r = await res;
  expect(r.status).toBe(200);
  const reader = r.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const next = async (ms: number): Promise<string | null> => {
    for (;;) {
      const i = buf.indexOf("\n\n");
      if (i >= 0) {
        const chunk = buf.slice(0, i + 2);
        buf = buf.slice(i + 2);
        return chunk;
      }
      const x = await Promise.race([
        reader.read(),
        new Promise<"timeout">((ok) => setTimeout(() => ok("timeout"), ms)),
      ]);
      if (x === "timeout") throw new Error(`no SSE chunk within ${ms} ms`);
      if (x.done) return null;
      buf += dec.decode(x.value);
    }
  };
  expect(await next(5000)).toBe("retry: 3000\n\n");
  return {
    async nextEvent(ms = 5000): Promise<string | null> {
      for (;;) {
        const c = await next(ms);
        if (c === null || !c.startsWith(":")) return c;
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}
