import type { JWT } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as panelLocation } from "@/app/api/panel/location/route";
import { authOptions } from "@/lib/auth/auth-options";
import type { PanelIdentity } from "@/lib/auth/panel-identity";
import { db } from "@/lib/db";
import { type SsoUser, ssoPayload } from "@/sandbox/ghl/sso-crypto";
import { req } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { identity as baseIdentity, panelCookie } from "./helpers/panel-cookie";
import { startPanelGhl } from "./helpers/panel-ghl";

// CoOne is installed as a whole agency in the GHL simulator, whose users API says who u1 is (an
// agency admin); CoTwo and CoGone exist only in our database.
let SECRET: string;
let h: Awaited<ReturnType<typeof startPanelGhl>>;
const identity: typeof baseIdentity = (o) => baseIdentity({ userId: "u1", ...o });
beforeAll(async () => {
  h = await startPanelGhl({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    companyId: "CoOne",
    bulk: true,
    locations: [
      { id: "LocA", name: "Alpha Clinic" },
      { id: "LocB", name: "Beta Gym" },
    ],
  });
  SECRET = h.ghl.config.ssoKey;
  await h.user({ id: "u1", type: "agency", role: "admin" });
  await db().company.createMany({ data: [{ id: "CoTwo" }, { id: "CoGone" }] });
  await db().location.createMany({
    data: [
      { id: "LocOther", companyId: "CoTwo", name: "Other Agency's Shop" },
      { id: "LocGone", companyId: "CoGone", name: "Uninstalled", installed: false, uninstalledAt: new Date() },
    ],
  });
  await db().instance.createMany({
    data: [
      { locationId: "LocA", name: "wa-01" },
      { locationId: "LocB", name: "wa-01" },
      { locationId: "LocB", name: "wa-02" },
    ],
  });
});
afterAll(async () => h.close());

const user = (o: Partial<SsoUser>): SsoUser => ({
  userId: "u1",
  companyId: "CoOne",
  role: "admin",
  type: "location",
  userName: "Ana",
  email: "ana@x.io",
  ...o,
});
const authorize = (payload: string) =>
  // next-auth keeps the provider's own authorize under `options`
  (
    authOptions().providers[0] as unknown as {
      options: { authorize: (c: Record<string, string>, r: unknown) => Promise<unknown> };
    }
  ).options.authorize({ payload }, {});
const panel = async (cookie: string, path = "/api/panel/location", headers: Record<string, string> = {}) => {
  const r = await panelLocation(req(path, { headers: { cookie, ...headers } }), { params: Promise.resolve({}) });
  return { status: r.status, body: await r.json() };
};
const jwtCallback: NonNullable<ReturnType<typeof authOptions>["callbacks"]>["jwt"] = (p) =>
  authOptions().callbacks!.jwt!(p);
const switchTo = (id: PanelIdentity, locationId: string) =>
  jwtCallback({
    token: { authTime: Date.now(), checkedAt: Date.now(), ...id } as unknown as JWT,
    user: undefined as never,
    account: null,
    trigger: "update",
    session: { locationId },
  }) as Promise<JWT>;

describe("panel sign-in with GHL's SSO payload (Credentials provider ghl-sso)", () => {
  it("opens a session for a user of an installed location", async () => {
    const u = await authorize(ssoPayload({ ...user({ activeLocation: "LocA" }) } as never, SECRET));
    expect(u).toMatchObject({ id: "u1", locationId: "LocA", companyId: "CoOne", agency: false });
  });
  it("opens an agency session on the company's first installed location, allowed to switch", async () => {
    const u = await authorize(ssoPayload(user({ type: "agency" }) as never, SECRET));
    expect(u).toMatchObject({ locationId: "LocA", agency: true });
  });
  it("refuses with a reason (never a crash): not installed, another company's location, no installed location, tampered or foreign payload", async () => {
    await expect(
      authorize(ssoPayload(user({ companyId: "CoGone", activeLocation: "LocGone" }) as never, SECRET)),
    ).rejects.toThrow("not_installed");
    await expect(authorize(ssoPayload(user({ activeLocation: "LocOther" }) as never, SECRET))).rejects.toThrow(
      "not_installed",
    );
    await expect(authorize(ssoPayload(user({ companyId: "CoGone", type: "agency" }) as never, SECRET))).rejects.toThrow(
      "no_location",
    );
    await expect(
      authorize(ssoPayload(user({ activeLocation: "LocA" }) as never, "another-apps-secret")),
    ).rejects.toThrow("invalid_payload");
    const p = ssoPayload(user({ activeLocation: "LocA" }) as never, SECRET);
    await expect(authorize(p.slice(0, -8))).rejects.toThrow("invalid_payload");
    await expect(authorize("")).rejects.toThrow("invalid_payload");
  });
});

describe("tenant isolation of panel sessions", () => {
  it("a session of location A reads A, whatever the request names", async () => {
    const cookie = await panelCookie(identity({ locationId: "LocA", companyId: "CoOne" }));
    for (const [path, headers] of [
      ["/api/panel/location", {}],
      ["/api/panel/location?locationId=LocB", {}],
      ["/api/panel/location", { "x-location-id": "LocB" }],
    ] as const) {
      const r = await panel(cookie, path, headers);
      expect(r.status).toBe(200);
      expect(r.body.location).toMatchObject({ id: "LocA", name: "Alpha Clinic", _count: { instances: 1 } });
      expect(r.body.locations).toEqual([{ id: "LocA", name: "Alpha Clinic" }]);
      expect(JSON.stringify(r.body)).not.toContain("LocB");
    }
  });

  it("a location session cannot switch to another location; an agency session only within its company", async () => {
    const loc = identity({ locationId: "LocA", companyId: "CoOne" });
    expect((await switchTo(loc, "LocB")).locationId).toBe("LocA");
    const agency = identity({ locationId: "LocA", companyId: "CoOne", agency: true });
    expect((await switchTo(agency, "LocB")).locationId).toBe("LocB");
    expect((await switchTo(agency, "LocOther")).locationId).toBe("LocA");
    expect((await switchTo(agency, "LocGone")).locationId).toBe("LocA");
    const switched = await panel(await panelCookie({ ...agency, locationId: "LocB" }));
    expect(switched.body.location).toMatchObject({ id: "LocB", _count: { instances: 2 } });
    expect(switched.body.locations.map((l: { id: string }) => l.id)).toEqual(["LocA", "LocB"]);
  });

  it("a forged cookie claiming another company's location is refused", async () => {
    // the JWT is encrypted with NEXTAUTH_SECRET: only a cookie we issued decodes, so forging means this
    const cookie = await panelCookie(identity({ locationId: "LocOther", companyId: "CoOne" }));
    expect((await panel(cookie)).status).toBe(403);
  });

  it("no, tampered or expired sessions get 401; an uninstalled location 403", async () => {
    expect((await panel("")).status).toBe(401);
    const good = await panelCookie(identity({ locationId: "LocA", companyId: "CoOne" }));
    expect((await panel(good.slice(0, -4) + "AAAA")).status).toBe(401);
    expect((await panel(await panelCookie(identity({ locationId: "LocA", companyId: "CoOne" }), -60))).status).toBe(
      401,
    );
    const gone = await panel(await panelCookie(identity({ locationId: "LocGone", companyId: "CoGone" })));
    expect(gone.status).toBe(403);
    expect(gone.body.error.code).toBe("not_installed");
  });
});
