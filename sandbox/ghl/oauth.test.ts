import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "./directory";
import type { GhlSimulator } from "./server";
import { api, contractProblems, control, exchange, install, startFakeApp, startSim } from "./test-kit";

const [sunrise, harbor, maple] = SEED.locations.map((l) => l.id);
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({ appBaseUrl: app.url });
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

describe("OAuth", () => {
  it("choose-location lists the seeded locations and refuses an unknown client_id", async () => {
    const q = (clientId: string) =>
      new URLSearchParams({
        response_type: "code",
        client_id: clientId,
        redirect_uri: "http://127.0.0.1:9/cb",
        scope: "contacts.readonly",
        state: "s",
      });
    const ok = await fetch(`${sim.url}/v2/oauth/chooselocation?${q(sim.config.clientId)}`);
    const html = await ok.text();
    expect(ok.status).toBe(200);
    for (const name of ["Sunrise Dental", "Harbor Realty", "Maple Fitness", "Sandbox Agency"])
      expect(html).toContain(name);
    const bad = await fetch(`${sim.url}/v2/oauth/chooselocation?${q("nope-app")}`);
    expect(bad.status).toBe(400);
  });

  it("authorization code flow: 302 with code and state, one exchange for a Location token, a second one refused", async () => {
    const r = await install(sim, { locationId: sunrise });
    expect(r.status).toBe(302);
    expect(r.state).toBe("st-1");
    expect(r.tokens.status).toBe(200);
    expect(r.tokens.body).toMatchObject({
      token_type: "Bearer",
      expires_in: 86399,
      userType: "Location",
      locationId: sunrise,
      companyId: SEED.companyId,
      isBulkInstallation: false,
    });
    expect(r.tokens.body.scope).toContain("conversations/message.write");
    const again = await exchange(sim, { grant_type: "authorization_code", code: r.code });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe("invalid_grant");
    const wrongSecret = await exchange(sim, { grant_type: "authorization_code", code: r.code, client_secret: "x" });
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.error).toBe("invalid_client");
    const missing = await exchange(sim, { client_id: "", grant_type: "" });
    expect(missing.status).toBe(422);
  });

  it("refresh tokens are single use and rotate: the new pair works, the old refresh token gets invalid_grant", async () => {
    const { tokens } = await install(sim, { locationId: harbor });
    const first = await exchange(sim, { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(tokens.body.refresh_token);
    expect(first.body.locationId).toBe(harbor);
    const reuse = await exchange(sim, { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token });
    expect(reuse.status).toBe(400);
    expect(reuse.body).toMatchObject({
      statusCode: 400,
      error: "invalid_grant",
      error_description: "Invalid grant: refresh token is invalid",
    });
    const second = await exchange(sim, { grant_type: "refresh_token", refresh_token: first.body.refresh_token });
    expect(second.status).toBe(200);
    const listed = await control(sim, "GET", `/tokens?locationId=${harbor}`);
    expect(listed.body.validPairs).toBe(1);
    const search = await api(sim, "GET", `/contacts/search/duplicate?locationId=${harbor}&number=%2B15550001111`, {
      token: second.body.access_token,
    });
    expect(search.status).toBe(200);
  });

  it("an expired access token answers 401 until the app refreshes", async () => {
    const { tokens } = await install(sim, { locationId: maple });
    const path = `/contacts/search/duplicate?locationId=${maple}&number=%2B15550002222`;
    expect((await api(sim, "GET", path, { token: tokens.body.access_token })).status).toBe(200);
    expect((await control(sim, "POST", "/tokens/expire", { locationId: maple })).body.expired).toBe(1);
    const expired = await api(sim, "GET", path, { token: tokens.body.access_token });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({
      statusCode: 401,
      message: "Invalid token: access token is invalid",
      error: "Unauthorized",
    });
    const fresh = await exchange(sim, { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token });
    expect((await api(sim, "GET", path, { token: fresh.body.access_token })).status).toBe(200);
  });

  it("bulk install: Company token with approvedLocations, locationToken per location, installedLocations lists them", async () => {
    // A company of its own, so earlier installs (and the call log) stay as they are.
    const co = (await control(sim, "POST", "/companies", { name: "Bulk Agency" })).body;
    const [a, b] = [
      (await control(sim, "POST", "/locations", { name: "Bulk A", companyId: co.id })).body.id,
      (await control(sim, "POST", "/locations", { name: "Bulk B", companyId: co.id })).body.id,
    ];
    expect(a).toMatch(/^[A-Za-z0-9]{20}$/);
    const { tokens } = await install(sim, { companyId: co.id });
    expect(tokens.body).toMatchObject({ userType: "Company", companyId: co.id, isBulkInstallation: true });
    expect(tokens.body.locationId).toBeUndefined();
    expect([...tokens.body.approvedLocations].sort()).toEqual([a, b].sort());
    const company = tokens.body.access_token;
    const minted = await api(sim, "POST", "/oauth/locationToken", {
      token: company,
      form: new URLSearchParams({ companyId: co.id, locationId: b }),
    });
    expect(minted.status).toBe(200);
    expect(minted.body).toMatchObject({ locationId: b, token_type: "Bearer" });
    const useIt = await api(sim, "GET", `/conversations/search?locationId=${b}`, { token: minted.body.access_token });
    expect(useIt.status).toBe(200);
    // A Company token is not a Location token, and a Location token cannot mint.
    expect((await api(sim, "GET", `/conversations/search?locationId=${b}`, { token: company })).status).toBe(401);
    const noMint = await api(sim, "POST", "/oauth/locationToken", {
      token: minted.body.access_token,
      form: new URLSearchParams({ companyId: co.id, locationId: a }),
    });
    expect(noMint.status).toBe(401);
    const otherCompany = await api(sim, "POST", "/oauth/locationToken", {
      token: company,
      form: new URLSearchParams({ companyId: SEED.companyId, locationId: sunrise }),
    });
    expect(otherCompany.status).toBe(403);
    const listed = await api(
      sim,
      "GET",
      `/oauth/installedLocations?companyId=${co.id}&appId=${sim.config.appId}&isInstalled=true`,
      { token: company },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.locations.map((l: any) => l._id).sort()).toEqual([a, b].sort());
    const agencyInstall = await app.waitFor(
      (r) => r.json?.type === "INSTALL" && r.json.companyId === co.id && !r.json.locationId,
    );
    // A location created later under "install to future locations" installs itself and says so.
    const later = (await control(sim, "POST", "/locations", { name: "Bulk C", companyId: co.id })).body;
    await app.waitFor((r) => r.json?.type === "INSTALL" && r.json.locationId === later.id);
    expect(agencyInstall.json.appId).toBe(sim.config.appId);
  });

  it("every recorded call validates against the OpenAPI files", async () => {
    expect(await contractProblems(sim)).toEqual([]);
  });
});
