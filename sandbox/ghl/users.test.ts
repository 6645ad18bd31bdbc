import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "./directory";
import type { GhlSimulator } from "./server";
import { ALL_SCOPES, api, contractProblems, control, install, startFakeApp, startSim } from "./test-kit";

const [sunrise, harbor] = SEED.locations.map((l) => l.id);
const SCOPES = `${ALL_SCOPES} users.readonly`;
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;
let sunriseToken: string;
let companyToken: string;
let noScopeToken: string;

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({ appBaseUrl: app.url });
  sunriseToken = (await install(sim, { locationId: sunrise }, SCOPES)).tokens.body.access_token;
  noScopeToken = (await install(sim, { locationId: harbor })).tokens.body.access_token;
  companyToken = (await install(sim, { companyId: SEED.companyId }, SCOPES)).tokens.body.access_token; // a bulk install: a Company token
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

const users = async () =>
  (await control(sim, "GET", "/users")).body.users as { id: string; locationId?: string; type: string; role: string }[];

describe("GET /users/{userId}", () => {
  it("answers UserSuccessfulResponseDto with GHL's roles (type agency|account, role, locationIds)", async () => {
    const all = await users();
    const locAdmin = all.find((u) => u.locationId === sunrise && u.role === "admin")!;
    const r = await api(sim, "GET", `/users/${locAdmin.id}`, { token: sunriseToken });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: locAdmin.id,
      roles: { type: "account", role: "admin", locationIds: [sunrise], restrictSubAccount: false },
    });
    const agencyAdmin = all.find((u) => u.type === "agency")!;
    const a = await api(sim, "GET", `/users/${agencyAdmin.id}`, { token: companyToken });
    expect(a.body.roles).toMatchObject({ type: "agency", role: "admin" });
    expect(await contractProblems(sim)).toEqual([]);
  });

  it("checks the Version header and the users.readonly scope like every other route", async () => {
    const id = (await users())[0].id;
    expect((await api(sim, "GET", `/users/${id}`, { token: sunriseToken, version: null })).status).toBe(401);
    const noScope = await api(sim, "GET", `/users/${id}`, { token: noScopeToken });
    expect(noScope.status).toBe(401);
    expect(noScope.body.message).toBe("The token is not authorized for this scope.");
    expect((await api(sim, "GET", `/users/${id}`, { token: "nope" })).status).toBe(401);
  });

  it("a Location token reads only users who can open its location; a deleted user is unknown", async () => {
    const harborUser = (await users()).find((u) => u.locationId === harbor)!;
    expect((await api(sim, "GET", `/users/${harborUser.id}`, { token: sunriseToken })).status).toBe(403);
    expect((await api(sim, "GET", `/users/${harborUser.id}`, { token: companyToken })).status).toBe(200);
    const created = await control(sim, "POST", "/users", {
      id: "TempUser01",
      companyId: SEED.companyId,
      type: "location",
      role: "user",
      locationIds: [sunrise],
    });
    expect(created.status).toBe(201);
    expect((await api(sim, "GET", "/users/TempUser01", { token: sunriseToken })).status).toBe(200);
    expect((await control(sim, "DELETE", "/users/TempUser01")).status).toBe(200);
    const gone = await api(sim, "GET", "/users/TempUser01", { token: sunriseToken });
    expect(gone.status).toBe(400);
    expect(gone.body).toMatchObject({ statusCode: 400, message: "User not found" });
  });
});

describe("sandbox users control", () => {
  it("creates an agency user limited to some sub-accounts and changes roles", async () => {
    const c = await control(sim, "POST", "/users", {
      id: "AgencyUser01",
      companyId: SEED.companyId,
      type: "agency",
      role: "user",
      locationIds: [harbor],
    });
    expect(c.body.roles).toEqual({ type: "agency", role: "user", locationIds: [harbor], restrictSubAccount: false });
    expect((await api(sim, "GET", "/users/AgencyUser01", { token: sunriseToken })).status).toBe(403);
    const p = await control(sim, "PATCH", "/users/AgencyUser01", { role: "admin", locationIds: [harbor, sunrise] });
    expect(p.body.roles).toMatchObject({ role: "admin", locationIds: [harbor, sunrise] });
    expect((await api(sim, "GET", "/users/AgencyUser01", { token: sunriseToken })).body.roles.role).toBe("admin");
    expect(
      (await control(sim, "POST", "/users", { companyId: SEED.companyId, type: "location", locationIds: [] })).status,
    ).toBe(400);
    expect(
      (
        await control(sim, "POST", "/users", {
          companyId: SEED.companyId,
          type: "location",
          locationIds: ["Elsewhere"],
        })
      ).status,
    ).toBe(400);
    expect((await control(sim, "PATCH", "/users/Nobody", { role: "admin" })).status).toBe(404);
  });
});
