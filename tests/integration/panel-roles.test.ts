import { decode, type JWT } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as action } from "@/app/api/instances/[id]/[action]/route";
import { DELETE as deleteInstance } from "@/app/api/instances/[id]/route";
import { GET as getNumberSettings, PATCH as patchNumberSettings } from "@/app/api/instances/[id]/settings/route";
import { POST as createInstance, GET as listInstances } from "@/app/api/instances/route";
import { POST as createKey } from "@/app/api/panel/api-keys/route";
import { GET as panelLocation } from "@/app/api/panel/location/route";
import { PATCH as patchSettings } from "@/app/api/panel/settings/route";
import { GET as getHook, PUT as putHook } from "@/app/api/panel/webhook/route";
import { authOptions } from "@/lib/auth/auth-options";
import type { PanelIdentity } from "@/lib/auth/panel-identity";
import { db } from "@/lib/db";
import { type SsoUser, ssoPayload } from "@/sandbox/ghl/sso-crypto";
import { params, req } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { identity, panelCookie } from "./helpers/panel-cookie";
import { startPanelGhl } from "./helpers/panel-ghl";

// Issue 14, items 7 and 8: what a panel user may do is GHL's users API's answer, and a session's
// life is bounded by its SSO handshake. The company is installed as a whole in the GHL simulator;
// its users are created there with the roles each test needs. GHL's answers are cached 1 s here.
const MIN = 60_000;
let h: Awaited<ReturnType<typeof startPanelGhl>>;
let ORIGIN: string;

beforeAll(async () => {
  h = await startPanelGhl({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    companyId: "CoR",
    bulk: true,
    locations: [
      { id: "LocA", name: "Alpha" },
      { id: "LocB", name: "Beta" },
    ],
    env: { PANEL_ROLE_CACHE_S: "1", MEDIA_URL_ALLOWED_ORIGINS: "http://127.0.0.1:9" },
  });
  ORIGIN = h.appUrl;
  await h.user({ id: "LocUser1", type: "location", role: "user", locationIds: ["LocA"] });
  await h.user({ id: "LocAdmin1", type: "location", role: "admin", locationIds: ["LocA"] });
  await h.user({ id: "AgUserA", type: "agency", role: "user", locationIds: ["LocA"] });
  await h.user({ id: "AgUserB", type: "agency", role: "user", locationIds: ["LocB"] });
  await h.user({ id: "AgAdmin1", type: "agency", role: "admin" });
  await h.user({ id: "Removed1", type: "location", role: "admin", locationIds: ["LocA"] });
  await db().instance.createMany({
    data: [
      { id: "a1", locationId: "LocA", name: "wa-01" },
      { id: "a2", locationId: "LocA", name: "wa-02" },
      { id: "a3", locationId: "LocA", name: "wa-03" },
    ],
  });
});
afterAll(async () => h.close());

const at = (userId: string, o: Partial<PanelIdentity> & { authTime?: number; checkedAt?: number } = {}) =>
  panelCookie(identity({ userId, companyId: "CoR", locationId: "LocA", ...o }));
const send = (cookie: string, method = "GET", json?: unknown) =>
  req("/x", { method, json: json ?? (method === "GET" ? undefined : {}), headers: { cookie, origin: ORIGIN } });
const codeOf = async (r: Response) => ((await r.json()) as { error?: { code: string } }).error?.code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jwtCallback = (token: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  authOptions().callbacks!.jwt!({ token: token as JWT, user: undefined as never, account: null, ...extra }) as Promise<
    JWT & Partial<PanelIdentity>
  >;
const authorize = (payload: string, locationId?: string) =>
  (
    authOptions().providers[0] as unknown as {
      options: { authorize: (c: Record<string, string>, r: unknown) => Promise<Record<string, unknown>> };
    }
  ).options.authorize({ payload, ...(locationId ? { locationId } : {}) }, {});
const payloadOf = (u: Partial<SsoUser> & { userId: string }) =>
  ssoPayload(
    { companyId: "CoR", role: "admin", type: "location", userName: "X", email: "x@x.io", ...u },
    h.ghl.config.ssoKey,
  );
const keys = () => db().apiKey.count({ where: { locationId: "LocA" } });

describe("a number's settings (the groups switch, ADR 021)", () => {
  it("an admin turns groups on and off; a bad body is 400, another location's number 404", async () => {
    await db().instance.create({ data: { id: "b1", locationId: "LocB", name: "wa-01" } });
    const c = await at("LocAdmin1");
    const on = await patchNumberSettings(send(c, "PATCH", { groups: true }), params({ id: "a2" }));
    expect(on.status).toBe(200);
    expect(await on.json()).toEqual({ settings: { groups: true, historyImportDays: 30 } });
    const listed = (await (await listInstances(send(c), params({}))).json()) as {
      instances: { id: string; groups: boolean }[];
    };
    expect(listed.instances.find((i) => i.id === "a2")?.groups).toBe(true);
    expect((await patchNumberSettings(send(c, "PATCH", { groups: "yes" }), params({ id: "a2" }))).status).toBe(400);
    expect((await patchNumberSettings(send(c, "PATCH", { groups: true, other: 1 }), params({ id: "a2" }))).status).toBe(
      400,
    );
    expect((await patchNumberSettings(send(c, "PATCH", { groups: true }), params({ id: "b1" }))).status).toBe(404);
    expect((await getNumberSettings(send(c), params({ id: "b1" }))).status).toBe(404);
    expect((await db().instance.findUnique({ where: { id: "b1" } }))!.settings).toEqual({});
    const off = await patchNumberSettings(send(c, "PATCH", { groups: false }), params({ id: "a2" }));
    expect(await off.json()).toEqual({ settings: { groups: false, historyImportDays: 30 } });
  });
});

describe("roles come from GHL's users API (item 8)", () => {
  it("a location user cannot mint keys, move the webhook, create, delete or log out a number, or change settings", async () => {
    const c = await at("LocUser1");
    for (const r of [
      await createKey(send(c, "POST", { label: "mine" }), params({})),
      await putHook(send(c, "PUT", { url: "http://127.0.0.1:9/steal" }), params({})),
      await getHook(send(c), params({})),
      await deleteInstance(send(c, "DELETE"), params({ id: "a1" })),
      await action(send(c, "POST"), params({ id: "a1", action: "logout" })),
      await action(send(c, "POST"), params({ id: "a1", action: "default" })),
      await createInstance(send(c, "POST", { instanceId: "wa-09" }), params({})),
      await patchSettings(send(c, "PATCH", { providerMode: "custom" }), params({})),
      await patchNumberSettings(send(c, "PATCH", { groups: true }), params({ id: "a1" })),
    ]) {
      expect(r.status).toBe(403);
      expect(await codeOf(r)).toBe("admin_required");
    }
    expect(await keys()).toBe(0);
    expect(await db().instance.count({ where: { locationId: "LocA" } })).toBe(3);
    expect((await db().location.findUnique({ where: { id: "LocA" } }))!.settings).toEqual({});
    expect((await db().instance.findUnique({ where: { id: "a1" } }))!.settings).toEqual({});
    expect(await (await getNumberSettings(send(c), params({ id: "a1" }))).json()).toEqual({
      settings: { groups: false, historyImportDays: 30 },
    });
    // what any user of the location may still do
    expect((await listInstances(send(c), params({}))).status).toBe(200);
    const loc = await (await panelLocation(send(c), params({}))).json();
    expect(loc).toMatchObject({ location: { id: "LocA" }, admin: false });
  });

  it("an admin of the location can (the SSO payload's role is not what decides)", async () => {
    const c = await at("LocAdmin1", { role: "user" });
    expect((await createKey(send(c, "POST", { label: "n8n" }), params({}))).status).toBe(201);
    expect((await putHook(send(c, "PUT", { url: "http://127.0.0.1:9/hook" }), params({}))).status).toBe(200);
    expect((await deleteInstance(send(c, "DELETE"), params({ id: "a3" }))).status).toBe(200);
    expect((await (await panelLocation(send(c), params({}))).json()).admin).toBe(true);
    // an agency admin may act in every location of the company
    expect(
      (await createKey(send(await at("AgAdmin1", { agency: true }), "POST", { label: "agency" }), params({}))).status,
    ).toBe(201);
  });

  it("a role changed in GHL applies within the cache time, without a new handshake", async () => {
    await h.user({ id: "Demoted1", type: "location", role: "admin", locationIds: ["LocA"] });
    const c = await at("Demoted1");
    expect((await createKey(send(c, "POST", { label: "before" }), params({}))).status).toBe(201);
    await h.changeUser("Demoted1", { role: "user" });
    await sleep(1100);
    const r = await createKey(send(c, "POST", { label: "after" }), params({}));
    expect(r.status).toBe(403);
    expect(await codeOf(r)).toBe("admin_required");
  });

  it("an agency user with locationIds [A] cannot switch to B; lands only where allowed; an agency admin can switch", async () => {
    const agUser = {
      ...identity({ userId: "AgUserA", companyId: "CoR", locationId: "LocA", agency: true }),
      authTime: Date.now(),
      checkedAt: Date.now(),
    };
    expect((await jwtCallback(agUser, { trigger: "update", session: { locationId: "LocB" } })).locationId).toBe("LocA");
    const listed = await (await panelLocation(send(await panelCookie(agUser)), params({}))).json();
    expect(listed.locations.map((l: { id: string }) => l.id)).toEqual(["LocA"]);
    // signing in from the agency view: Alpha sorts first, but this user may only open Beta
    expect(await authorize(payloadOf({ userId: "AgUserB", type: "agency", role: "user" }))).toMatchObject({
      locationId: "LocB",
      agency: true,
    });
    const agAdmin = {
      ...identity({ userId: "AgAdmin1", companyId: "CoR", locationId: "LocA", agency: true }),
      authTime: Date.now(),
      checkedAt: Date.now(),
    };
    expect((await jwtCallback(agAdmin, { trigger: "update", session: { locationId: "LocB" } })).locationId).toBe(
      "LocB",
    );
  });

  it("GHL not answering: admin actions fail closed with 503 roles_unavailable, reads go on", async () => {
    await sleep(1100); // let cached answers lapse
    await h.control("POST", "/faults", { path: "/users/*", status: 503, times: 50 });
    try {
      const c = await at("LocAdmin1");
      const before = await keys();
      const r = await createKey(send(c, "POST", { label: "during outage" }), params({}));
      expect(r.status).toBe(503);
      expect(await codeOf(r)).toBe("roles_unavailable");
      expect(await keys()).toBe(before);
      expect((await listInstances(send(c), params({}))).status).toBe(200);
    } finally {
      await h.control("DELETE", "/faults");
      await sleep(1100);
    }
  });
});

describe("sessions bounded by the SSO handshake (item 7)", () => {
  it("a session older than the absolute life is refused, and renewal neither revives nor extends it", async () => {
    const old = Date.now() - 12 * 60 * MIN - MIN;
    const r = await panelLocation(send(await at("LocAdmin1", { authTime: old })), params({}));
    expect(r.status).toBe(401);
    const renewed = await jwtCallback({
      ...identity({ userId: "LocAdmin1", companyId: "CoR", locationId: "LocA" }),
      authTime: old,
      checkedAt: Date.now(),
    });
    expect(renewed.locationId).toBeUndefined();
    // a session renewed 11 h 50 min after its handshake gets a JWT that dies at 12 h, not 8 h later
    const authTime = Date.now() - (11 * 60 + 50) * MIN;
    const token = {
      ...identity({ userId: "LocAdmin1", companyId: "CoR", locationId: "LocA" }),
      authTime,
      checkedAt: Date.now(),
    };
    const secret = process.env.NEXTAUTH_SECRET!;
    const jwt = await authOptions().jwt!.encode!({ token: await jwtCallback(token), secret, maxAge: 8 * 3600 });
    const exp = ((await decode({ token: jwt, secret })) as { exp: number }).exp * 1000;
    expect(exp).toBeLessThanOrEqual(authTime + 12 * 60 * MIN + 1000);
  });

  it("minting a key or moving the webhook with a handshake older than the window asks for re-auth", async () => {
    const stale = await at("LocAdmin1", { authTime: Date.now() - 11 * MIN });
    const before = await keys();
    for (const r of [
      await createKey(send(stale, "POST", { label: "stale" }), params({})),
      await putHook(send(stale, "PUT", { url: null }), params({})),
    ]) {
      expect(r.status).toBe(401);
      expect(await codeOf(r)).toBe("reauth_required");
    }
    expect(await keys()).toBe(before);
    // other admin actions and reads do not need a fresh handshake
    expect((await action(send(stale, "POST"), params({ id: "a2", action: "default" }))).status).toBe(200);
    // the panel's answer: a new handshake (a fresh authTime), then the same call succeeds
    const fresh = await authorize(payloadOf({ userId: "LocAdmin1", activeLocation: "LocA" }));
    expect(Date.now() - (fresh.authTime as number)).toBeLessThan(MIN);
    const freshCookie = await at("LocAdmin1", { authTime: fresh.authTime as number });
    expect((await createKey(send(freshCookie, "POST", { label: "fresh" }), params({}))).status).toBe(201);
  });

  it("a user removed in GHL loses the session at renewal (and at the next request once due for a re-check)", async () => {
    const claims = {
      ...identity({ userId: "Removed1", companyId: "CoR", locationId: "LocA" }),
      authTime: Date.now() - 20 * MIN,
      checkedAt: Date.now() - 6 * MIN,
    };
    const kept = await jwtCallback({ ...claims }); // (the callback updates the token it is given)
    expect(kept.locationId).toBe("LocA");
    expect((kept as unknown as { checkedAt: number }).checkedAt).toBeGreaterThan(Date.now() - MIN);
    await h.deleteUser("Removed1");
    await sleep(1100);
    expect((await jwtCallback({ ...claims })).locationId).toBeUndefined();
    const r = await panelLocation(send(await panelCookie(claims)), params({}));
    expect(r.status).toBe(401);
    expect(await codeOf(r)).toBe("session_revoked");
    // a session GHL confirmed a minute ago still reads, but can no longer act
    const recent = await at("Removed1", { checkedAt: Date.now() - MIN });
    const act = await action(send(recent, "POST"), params({ id: "a2", action: "logout" }));
    expect(act.status).toBe(403);
    expect(await codeOf(act)).toBe("no_access");
    // and cannot sign in again
    await expect(authorize(payloadOf({ userId: "Removed1", activeLocation: "LocA" }))).rejects.toThrow("no_access");
  });

  it("GHL's payload has no time: each one signs in once", async () => {
    const p = payloadOf({ userId: "LocAdmin1", activeLocation: "LocA" });
    expect(await authorize(p)).toMatchObject({ locationId: "LocA" });
    await expect(authorize(p)).rejects.toThrow("payload_reused");
  });
});
