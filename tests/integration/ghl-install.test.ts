import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as webhookRoute } from "@/app/api/ghl/webhooks/route";
import { GET as callbackRoute } from "@/app/api/oauth/callback/route";
import { GET as installRoute } from "@/app/api/oauth/install/route";
import { db } from "@/lib/db";
import { ghlClient } from "@/lib/ghl/client";
import { redis } from "@/lib/redis";
import { readInstallReport } from "@/lib/tenants/install-report";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { consentOnMarketplace, startGhlHarness, waitUntil } from "./helpers/ghl-harness";

const COMPANY = "SandboxAgency0000001";
const SUNRISE = "SunriseDental0000001";
const LOCS = [SUNRISE, "HarborRealty00000001", "MapleFitness00000001"];

let h: Awaited<ReturnType<typeof startGhlHarness>>;
beforeAll(async () => {
  h = await startGhlHarness({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    routes: {
      "GET /api/oauth/install": installRoute,
      "GET /api/oauth/callback": callbackRoute,
      "POST /api/ghl/webhooks": webhookRoute,
    },
  });
});
afterAll(async () => h.close());

const get = (url: string, cookie?: string) => fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });

/** What a browser sends back of the install route's state cookie (name=value). */
const cookieOf = (res: Response) => res.headers.get("set-cookie")?.split(";")[0] ?? "";

/** The whole install in one browser: start (state + cookie), consent on GHL, back to the callback with the cookie. */
async function installVia(target: { locationId: string } | { companyId: string }) {
  const { cookie, callbackUrl } = await startAndConsent(target);
  const done = await get(callbackUrl, cookie);
  return { callbackUrl, cookie, status: done.status, landing: new URL(done.headers.get("location")!), done };
}

async function startAndConsent(target: { locationId: string } | { companyId: string }) {
  const start = await get(`${h.appUrl}/api/oauth/install`);
  expect(start.status).toBe(302);
  return {
    cookie: cookieOf(start),
    start,
    callbackUrl: await consentOnMarketplace(start.headers.get("location")!, target),
  };
}

const tokensInSim = async (q: string) =>
  (await h.control<{ validPairs: number }>("GET", `/tokens?${q}`)).body.validPairs;
/** How many code exchanges (or refreshes) GHL has seen. */
const tokenCalls = async () =>
  (await h.control<{ calls: unknown[] }>("GET", "/calls?path=/oauth/token")).body.calls.length;

describe("install flow (app ↔ GHL simulator)", () => {
  // On a loaded machine GHL's INSTALL webhook and this callback create the company at the same
  // moment; this once ended on "?error=exchange" (fixed by retryOnConflict, see
  // concurrent-upserts.test.ts). The error check comes first so such a failure names itself.
  it("installs one location: state round-trip, code exchange, sealed tokens, a success page saying what was installed", async () => {
    const { status, landing } = await installVia({ locationId: SUNRISE });
    expect(status).toBe(303);
    expect(landing.pathname).toBe("/installed");
    expect(landing.searchParams.get("error"), landing.search).toBeNull();
    const report = await readInstallReport(redis(), landing.searchParams.get("r")!);
    // named by GET /locations/{id} (locations.readonly): the panel and the report show the name, not the id
    expect(report, `report ${landing.search}`).toMatchObject({
      kind: "location",
      locations: [{ id: SUNRISE, name: "Sunrise Dental" }],
    });

    const row = await db().location.findUniqueOrThrow({ where: { id: SUNRISE } });
    expect(row).toMatchObject({ installed: true, needsReinstall: false, companyId: COMPANY, name: "Sunrise Dental" });
    expect(row.accessTokenEnc).toMatch(/^v1\./);
    expect(row.tokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 3600_000);
    expect(await tokensInSim(`locationId=${SUNRISE}`)).toBe(1);
    // the stored token works against GHL
    const r = await ghlClient(SUNRISE)<{ contact: unknown }>(
      "GET",
      `/contacts/search/duplicate?locationId=${SUNRISE}&number=%2B15550001111`,
    );
    expect(r).toHaveProperty("contact");
  });

  it("refuses a replayed callback (single-use state) and a state it never issued, storing nothing", async () => {
    const before = await db().location.count();
    const { callbackUrl, cookie } = await installVia({ locationId: "HarborRealty00000001" });
    const again = await get(callbackUrl, cookie);
    expect(new URL(again.headers.get("location")!).search).toBe("?error=state");
    const forged = new URL(callbackUrl);
    forged.searchParams.set("state", "x".repeat(32));
    // a state this browser was not given: refused before it is even looked up
    expect((await get(forged.toString(), cookie)).status).toBe(400);
    expect(await db().location.count()).toBe(before + 1);
    // GHL refused nothing: only our state check stopped them (the code of a replay is spent anyway)
    const denied = await get(`${h.appUrl}/api/oauth/callback?error=access_denied`);
    expect(new URL(denied.headers.get("location")!).search).toBe("?error=denied");
  });

  it("binds the state to the browser that started the install: HttpOnly, Lax, short-lived, spent by the callback", async () => {
    const start = await get(`${h.appUrl}/api/oauth/install`);
    const setCookie = start.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^gw_oauth_state=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Lax");
    expect(setCookie).toContain("Path=/api/oauth");
    expect(setCookie).toContain("Max-Age=600");
    // the cookie holds a MAC, never the state itself
    expect(setCookie).not.toContain(new URL(start.headers.get("location")!).searchParams.get("state")!);
    const { done } = await installVia({ locationId: "MapleFitness00000001" });
    expect(done.headers.get("set-cookie")).toMatch(/^gw_oauth_state=; .*Max-Age=0/);
  });

  it("refuses a callback whose state was issued to another browser (login CSRF on install): 400 page, no code exchange, no tokens, state not spent", async () => {
    // the attacker starts an install in their browser and stops at GHL's redirect back to us…
    // (GHL's own INSTALL webhook for the consent arrives anyway; what the callback adds is the
    // code exchange, the tokens and the success page, counted below)
    const attacker = await startAndConsent({ locationId: SUNRISE });
    const victim = await startAndConsent({ locationId: "HarborRealty00000001" });
    const exchangesBefore = await tokenCalls();
    const tokenBefore = (await db().location.findUnique({ where: { id: SUNRISE } }))?.accessTokenEnc;
    const reportsBefore = (await redis().keys("gw:install-report:*")).length;
    // …and the victim's browser opens that URL: with no cookie, or with its own install's cookie
    for (const cookie of [undefined, victim.cookie, `${attacker.cookie.split("=")[0]}=${"A".repeat(43)}`]) {
      const r = await get(attacker.callbackUrl, cookie);
      expect(r.status).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/text\/html/);
      expect(await r.text()).toContain("not started in this browser");
    }
    expect(await tokenCalls()).toBe(exchangesBefore); // the code was never exchanged
    expect((await db().location.findUnique({ where: { id: SUNRISE } }))?.accessTokenEnc).toBe(tokenBefore);
    expect((await redis().keys("gw:install-report:*")).length).toBe(reportsBefore);
    // the attacker's own browser could still finish its install (its state was not burnt by the refusals)
    const own = await get(attacker.callbackUrl, attacker.cookie);
    expect(new URL(own.headers.get("location")!).searchParams.get("error")).toBeNull();
  });

  it("a callback without any state (an install started on the Marketplace, not by our route) installs: one code exchange, tokens stored", async () => {
    // the Marketplace's Install button opens the consent page itself: no state is sent, none comes back
    const start = await fetch(`${h.appUrl}/api/oauth/install`, { redirect: "manual" });
    const authorize = new URL(start.headers.get("location")!);
    authorize.searchParams.delete("state");
    const callbackUrl = await consentOnMarketplace(authorize.toString(), { locationId: "MapleFitness00000001" });
    expect(new URL(callbackUrl).searchParams.has("state")).toBe(false);
    const exchangesBefore = await tokenCalls();
    const r = await get(callbackUrl); // no cookie: nothing was started in this browser
    expect(r.status).toBe(303);
    const landing = new URL(r.headers.get("location")!);
    expect(landing.searchParams.get("error")).toBeNull();
    expect((await readInstallReport(redis(), landing.searchParams.get("r")!))?.locations.map((l) => l.id)).toEqual([
      "MapleFitness00000001",
    ]);
    expect(await tokenCalls()).toBe(exchangesBefore + 1);
    expect((await db().location.findUniqueOrThrow({ where: { id: "MapleFitness00000001" } })).accessTokenEnc).toMatch(
      /^v1\./,
    );
    // the same code a second time is GHL's to refuse (codes are single-use): nothing new stored
    const again = await get(callbackUrl);
    expect(new URL(again.headers.get("location")!).searchParams.get("error")).toBe("exchange");
  });

  it("bulk install of a company with 3 locations yields 3 working Location tokens and keeps the Company token", async () => {
    const { landing } = await installVia({ companyId: COMPANY });
    const report = await readInstallReport(redis(), landing.searchParams.get("r")!);
    expect(report?.kind).toBe("company");
    expect(report?.locations.map((l) => l.name).sort()).toEqual(["Harbor Realty", "Maple Fitness", "Sunrise Dental"]);

    const company = await db().company.findUniqueOrThrow({ where: { id: COMPANY } });
    expect(company.accessTokenEnc).toMatch(/^v1\./);
    for (const id of LOCS) {
      const r = await ghlClient(id)<{ contact: unknown }>(
        "GET",
        `/contacts/search/duplicate?locationId=${id}&number=%2B15550002222`,
      );
      expect(r).toHaveProperty("contact");
    }
    const calls = (
      await h.control<{ calls: { locationId?: string; status: number }[] }>(
        "GET",
        "/calls?path=/contacts/search/duplicate",
      )
    ).body.calls;
    for (const id of LOCS) expect(calls.some((c) => c.locationId === id && c.status === 200)).toBe(true);
  });

  it("mints a Location token when GHL reports a later location of a bulk-installed company (INSTALL webhook)", async () => {
    const created = await h.control<{ id: string }>("POST", "/locations", { name: "Ocean Bakery", companyId: COMPANY });
    const id = created.body.id;
    const row = await waitUntil(async () => {
      const r = await db().location.findUnique({ where: { id } });
      return r?.accessTokenEnc ? r : null;
    });
    expect(row).toMatchObject({ companyId: COMPANY, installed: true });
    expect(await tokensInSim(`locationId=${id}`)).toBe(1);
    const r = await ghlClient(id)<{ contact: unknown }>(
      "GET",
      `/contacts/search/duplicate?locationId=${id}&number=%2B15550003333`,
    );
    expect(r).toHaveProperty("contact");
  });
});
