import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET, PUT } from "@/app/api/panel/tag-routes/route";
import { db } from "@/lib/db";
import { readLocationSettings } from "@/lib/tenants/settings";
import { params, req } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { identity, panelCookie } from "./helpers/panel-cookie";
import { startPanelGhl } from "./helpers/panel-ghl";

// GET/PUT /api/panel/tag-routes: the tag → number table (lib/routing/tag-routes.ts). Read by any
// user of the location, replaced by its admins (GHL's users API says who is one), validated, and
// only with the location's own numbers.
let h: Awaited<ReturnType<typeof startPanelGhl>>;
let ORIGIN: string;

beforeAll(async () => {
  h = await startPanelGhl({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    companyId: "CoT",
    bulk: true,
    locations: [
      { id: "LocT", name: "Tango" },
      { id: "LocU", name: "Uniform" },
    ],
  });
  ORIGIN = h.appUrl;
  await h.user({ id: "TUser1", type: "location", role: "user", locationIds: ["LocT"] });
  await h.user({ id: "TAdmin1", type: "location", role: "admin", locationIds: ["LocT"] });
  await db().instance.createMany({
    data: [
      { id: "t1", locationId: "LocT", name: "wa-01" },
      { id: "t2", locationId: "LocT", name: "wa-02" },
      { id: "u1", locationId: "LocU", name: "wa-01" },
    ],
  });
});
afterAll(async () => h.close());

const cookieOf = (userId: string) => panelCookie(identity({ userId, companyId: "CoT", locationId: "LocT" }));
const put = async (userId: string | null, json: unknown) =>
  PUT(
    req("/api/panel/tag-routes", {
      method: "PUT",
      json,
      headers: { ...(userId ? { cookie: await cookieOf(userId) } : {}), origin: ORIGIN },
    }),
    params({}),
  );
const codeOf = async (r: Response) => ((await r.json()) as { error?: { code: string } }).error?.code;

describe("the tag → number table route", () => {
  it("refuses a caller without a session, and a user who is not an admin", async () => {
    expect((await put(null, { routes: [] })).status).toBe(401);
    const r = await put("TUser1", { routes: [{ tag: "vip", instanceId: "t2" }] });
    expect(r.status).toBe(403);
    expect((await readLocationSettings(db(), "LocT")).tagRoutes).toEqual([]);
  });

  it("validates the table: shape, size, duplicates, and only this location's numbers", async () => {
    expect(await codeOf(await put("TAdmin1", { routes: [{ tag: "", instanceId: "t1" }] }))).toBe("validation_failed");
    expect(await codeOf(await put("TAdmin1", { routes: "vip" }))).toBe("validation_failed");
    expect(
      await codeOf(
        await put("TAdmin1", { routes: Array.from({ length: 51 }, (_, i) => ({ tag: `t${i}`, instanceId: "t1" })) }),
      ),
    ).toBe("validation_failed");
    expect(
      await codeOf(
        await put("TAdmin1", {
          routes: [
            { tag: "VIP", instanceId: "t1" },
            { tag: "vip", instanceId: "t2" },
          ],
        }),
      ),
    ).toBe("bad_request");
    // another location's number behaves like an unknown one
    expect(await codeOf(await put("TAdmin1", { routes: [{ tag: "vip", instanceId: "u1" }] }))).toBe("bad_request");
    expect((await readLocationSettings(db(), "LocT")).tagRoutes).toEqual([]);
  });

  it("an admin replaces the table; every user of the location reads it", async () => {
    const r = await put("TAdmin1", {
      routes: [
        { tag: " vip ", instanceId: "t2" },
        { tag: "es", instanceId: "t1" },
      ],
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      routes: [
        { tag: "vip", instanceId: "t2" },
        { tag: "es", instanceId: "t1" },
      ],
    });
    const g = await GET(req("/api/panel/tag-routes", { headers: { cookie: await cookieOf("TUser1") } }), params({}));
    expect(await g.json()).toEqual({
      routes: [
        { tag: "vip", instanceId: "t2" },
        { tag: "es", instanceId: "t1" },
      ],
    });
    expect((await readLocationSettings(db(), "LocU")).tagRoutes).toEqual([]);
  });
});
