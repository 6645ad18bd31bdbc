import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "./directory";
import type { GhlSimulator } from "./server";
import { ALL_SCOPES, api, contractProblems, install, startFakeApp, startSim } from "./test-kit";

// GET /locations/{locationId} (openapi/locations.json get-location), as the app reads it to name a
// location installed on its own.
const [sunrise, harbor] = SEED.locations.map((l) => l.id);
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;
let sunriseToken: string;
let companyToken: string;
let noScopeToken: string;

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({ appBaseUrl: app.url });
  const withLocations = ALL_SCOPES.includes("locations.readonly") ? ALL_SCOPES : `${ALL_SCOPES} locations.readonly`;
  const without = withLocations
    .split(" ")
    .filter((s) => s !== "locations.readonly")
    .join(" ");
  sunriseToken = (await install(sim, { locationId: sunrise }, withLocations)).tokens.body.access_token;
  noScopeToken = (await install(sim, { locationId: harbor }, without)).tokens.body.access_token;
  companyToken = (await install(sim, { companyId: SEED.companyId }, withLocations)).tokens.body.access_token;
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

describe("GET /locations/{locationId}", () => {
  it("answers GetLocationByIdSuccessfulResponseDto with the location's name, to its own token and its company's", async () => {
    const r = await api(sim, "GET", `/locations/${sunrise}`, { token: sunriseToken });
    expect(r.status).toBe(200);
    expect(r.body.location).toMatchObject({ id: sunrise, companyId: SEED.companyId, name: SEED.locations[0].name });
    expect((await api(sim, "GET", `/locations/${harbor}`, { token: companyToken })).body.location.name).toBe(
      SEED.locations[1].name,
    );
    expect(await contractProblems(sim)).toEqual([]);
  });

  it("refuses another location's token, an unknown id, a missing Version and a token without locations.readonly", async () => {
    expect((await api(sim, "GET", `/locations/${harbor}`, { token: sunriseToken })).status).toBe(403);
    expect((await api(sim, "GET", "/locations/NoSuchLocation", { token: companyToken })).status).toBe(400);
    expect((await api(sim, "GET", `/locations/${sunrise}`, { token: sunriseToken, version: null })).status).toBe(401);
    const noScope = await api(sim, "GET", `/locations/${harbor}`, { token: noScopeToken });
    expect(noScope.status).toBe(401);
    expect(noScope.body.message).toBe("The token is not authorized for this scope.");
  });
});
