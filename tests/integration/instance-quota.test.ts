import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DELETE as deleteInstance } from "@/app/api/instances/[id]/route";
import { POST as createInstance, GET as listInstances } from "@/app/api/instances/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import * as instances from "@/lib/instances/instances";
import { redis } from "@/lib/redis";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";

// A location may have at most MAX_INSTANCES_PER_LOCATION numbers (here 3), however it creates them:
// the direct API, the panel, or several requests at once. Each number is a WhatsApp socket, a
// session and a QR render in our fleet; without a cap one tenant could open thousands.
let restore: () => Promise<void>;
let keyA: string;
let keyB: string;
let keyC: string;
let cookieP: string;

beforeAll(async () => {
  restore = useAppEnv({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    extra: { MAX_INSTANCES_PER_LOCATION: "3" },
  });
  await db().company.create({ data: { id: "co1", name: "Agency" } });
  await db().location.createMany({
    data: ["locA", "locB", "locC", "locP"].map((id) => ({ id, name: id, companyId: "co1" })),
  });
  keyA = (await createApiKey(db(), "locA", "a")).key;
  keyB = (await createApiKey(db(), "locB", "b")).key;
  keyC = (await createApiKey(db(), "locC", "c")).key;
  const admin = identity({ locationId: "locP", companyId: "co1" });
  cookieP = await panelCookie(admin);
  await ghlSays(redis(), admin); // creating a number is admin-only; the role checks are panel-roles.test.ts's
});
afterAll(async () => restore());

const viaKey = (key: string, instanceId: string) =>
  createInstance(
    req("/api/instances", { method: "POST", json: { instanceId }, headers: { "x-api-key": key } }),
    params({}),
  );
const viaPanel = (instanceId: string) =>
  createInstance(
    req("/api/instances", {
      method: "POST",
      json: { instanceId },
      headers: { cookie: cookieP, origin: "http://127.0.0.1:3999" },
    }),
    params({}),
  );
const count = (locationId: string) => db().instance.count({ where: { locationId } });

describe("numbers per location (MAX_INSTANCES_PER_LOCATION=3)", () => {
  it("direct API: the 4th number is a 409 that says why; reinitialising an existing one still works; deleting one makes room", async () => {
    for (const n of ["wa-01", "wa-02", "wa-03"]) expect((await viaKey(keyA, n)).status, n).toBe(201);
    const r = await viaKey(keyA, "wa-04");
    expect(r.status).toBe(409);
    expect((await r.json()).error).toMatchObject({
      code: "conflict",
      message: expect.stringMatching(/already has 3 numbers.*most.*\(3\).*delete one/),
    });
    expect(await count("locA")).toBe(3);
    expect((await viaKey(keyA, "wa-01")).status).toBe(200); // not a creation
    // another location has its own allowance
    expect((await viaKey(keyB, "wa-04")).status).toBe(201);

    const list = await (await listInstances(req("/x", { headers: { "x-api-key": keyA } }), params({}))).json();
    const wa02 = list.instances.find((i: { instanceId: string }) => i.instanceId === "wa-02");
    expect(
      (await deleteInstance(req("/x", { method: "DELETE", headers: { "x-api-key": keyA } }), params({ id: wa02.id })))
        .status,
    ).toBe(200);
    expect((await viaKey(keyA, "wa-04")).status).toBe(201);
    expect((await viaKey(keyA, "wa-05")).status).toBe(409);
  });

  it("panel: the same cap", async () => {
    for (const n of ["p-1", "p-2", "p-3"]) expect((await viaPanel(n)).status, n).toBe(201);
    const r = await viaPanel("p-4");
    expect(r.status).toBe(409);
    expect((await r.json()).error.message).toMatch(/already has 3 numbers/);
    expect(await count("locP")).toBe(3);
  });

  it("concurrent creates cannot overshoot it together", async () => {
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => viaKey(keyC, `c-${i}`)));
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
    expect(await count("locC")).toBe(3);
  });

  it("lib/instances create enforces the cap it is given (every caller passes one)", async () => {
    await expect(
      instances.create(db(), redis(), "locC", { name: "direct" }, { maxPerLocation: 3 }),
    ).rejects.toMatchObject({ status: 409 });
    expect((await instances.create(db(), redis(), "locC", { name: "direct" }, { maxPerLocation: 4 })).name).toBe(
      "direct",
    );
  });
});
