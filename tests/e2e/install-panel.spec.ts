import { expect, type Page, test } from "@playwright/test";

// The whole product path a GHL agency walks, in Chromium, against the sandbox: Marketplace →
// Install → callback → success page → the location's custom page in GHL → the panel in its iframe.
const APP = () => process.env.E2E_APP_URL!;
const GHL = () => process.env.E2E_GHL_URL!;
const COMPANY = "SandboxAgency0000001";
const SUNRISE = "SunriseDental0000001";
const HARBOR = "HarborRealty00000001";

async function installFromMarketplace(page: Page, button: string, heading = "Installed") {
  await page.goto(`${APP()}/api/oauth/install`);
  await expect(page).toHaveURL(/\/v2\/oauth\/chooselocation/);
  await page.locator(button).click();
  await expect(page).toHaveURL(/\/installed\?r=/);
  await expect(page.getByRole("heading", { name: heading })).toBeVisible();
}

const panelIn = (page: Page) => page.frameLocator("iframe#app");

test("install for one location, then its custom page in GHL shows the panel for that location", async ({ page }) => {
  await installFromMarketplace(page, `button[data-location-id="${SUNRISE}"]`);
  await expect(page.getByLabel("installed locations")).toContainText(SUNRISE);

  await page.goto(`${GHL()}/location/${SUNRISE}/custom-page`);
  const panel = panelIn(page);
  // GET /locations/{id} (locations.readonly) gives a location-level install its name, never the bare id
  await expect(panel.getByTestId("location-name")).toHaveText("Sunrise Dental");
  await expect(panel.getByText("No WhatsApp numbers yet")).toBeVisible();
  await expect(page.locator("#log")).toContainText("answered REQUEST_USER_DATA");
});

test("bulk install names every location; the panel follows the frame's location and speaks the browser's language", async ({
  browser,
}) => {
  const context = await browser.newContext({ locale: "es-ES" });
  const page = await context.newPage();
  // the success page already speaks the browser's Spanish
  await installFromMarketplace(page, `button[data-company-id="${COMPANY}"]`, "Instalada");
  await expect(page.getByLabel("installed locations")).toContainText("Harbor Realty");
  await expect(page.getByLabel("installed locations")).toContainText("Maple Fitness");

  await page.goto(`${GHL()}/location/${HARBOR}/custom-page`);
  await expect(panelIn(page).getByTestId("location-name")).toHaveText("Harbor Realty");
  await expect(panelIn(page).getByText("Aún no hay números de WhatsApp")).toBeVisible();
  // same browser, another location's frame: the handshake re-runs, no stale tenant
  await page.goto(`${GHL()}/location/${SUNRISE}/custom-page`);
  await expect(panelIn(page).getByTestId("location-name")).toHaveText("Sunrise Dental");
  await context.close();
});

test("the session cookie is SameSite=None; Secure; Partitioned, the panel is frameable only by GHL, and uninstall closes it", async ({
  page,
  request,
}) => {
  const signIn = page.waitForResponse((r) => r.url().includes("/api/auth/callback/ghl-sso"));
  await page.goto(`${GHL()}/location/${HARBOR}/custom-page`);
  const setCookie = (await (await signIn).allHeaders())["set-cookie"] ?? "";
  expect(setCookie).toMatch(/gw\.panel-session=[^\n]*SameSite=None[^\n]*Partitioned/i);
  expect(setCookie).toMatch(/gw\.panel-session=[^\n]*Secure/i);
  await expect(panelIn(page).getByTestId("location-name")).toHaveText("Harbor Realty");
  // partitioned: stored under GHL's top-level site, so looked up without a URL filter
  const cookie = (await page.context().cookies()).find((c) => c.name === "gw.panel-session");
  expect(cookie).toMatchObject({ sameSite: "None", secure: true, httpOnly: true });
  const res = await request.get(`${APP()}/panel`);
  // GHL's own app origins always, then the configured ones (here the sandbox's GHL page); no wildcard
  const csp = res.headers()["content-security-policy"] ?? "";
  expect(csp).toMatch(/^frame-ancestors 'self' https:\/\/app\.gohighlevel\.com https:\/\/app\.leadconnectorhq\.com /);
  expect(csp.split(" ")).toContain(GHL());
  expect(csp).not.toContain("*");
  expect(res.headers()["x-frame-options"]).toBeUndefined();

  const un = await request.post(`${GHL()}/__sandbox/webhooks/uninstall`, { data: { locationId: HARBOR } });
  expect((await un.json()).deliveryStatus).toBe(200);
  await page.reload();
  await expect(panelIn(page).getByText(/not installed for this location/)).toBeVisible();
  await expect(panelIn(page).getByTestId("location-name")).toHaveCount(0);
});

test("a location user (GHL's users API says role user) gets the panel without admin controls, and the routes refuse them", async ({
  page,
  request,
}) => {
  const users = (await (await request.get(`${GHL()}/__sandbox/users`)).json()).users as {
    id: string;
    locationId?: string;
    role: string;
  }[];
  const user = users.find((u) => u.locationId === SUNRISE && u.role === "user")!;
  await page.goto(`${GHL()}/location/${SUNRISE}/custom-page?userId=${user.id}`);
  const panel = panelIn(page);
  await expect(panel.getByTestId("location-name")).toHaveText("Sunrise Dental");
  await expect(panel.getByTestId("admin-only-note")).toBeVisible();
  await expect(panel.getByRole("button", { name: "Add number" })).toHaveCount(0);
  await expect(panel.getByRole("button", { name: "Create key" })).toHaveCount(0);
  const frame = page.frames().find((f) => f.url().includes("/panel/home"))!;
  const refused = await frame.evaluate(async () => {
    const r = await fetch("/api/panel/api-keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ label: "x" }),
    });
    return { status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code };
  });
  expect(refused).toEqual({ status: 403, code: "admin_required" });
});

test("minting a key once the handshake is older than the re-auth window re-runs GHL's SSO handshake out of sight", async ({
  page,
}) => {
  let signIns = 0;
  page.on("response", (r) => void (r.url().includes("/api/auth/callback/ghl-sso") && signIns++));
  await page.goto(`${GHL()}/location/${SUNRISE}/custom-page`);
  const panel = panelIn(page);
  await expect(panel.getByTestId("location-name")).toHaveText("Sunrise Dental");
  expect(signIns).toBe(1);
  await page.waitForTimeout(11_000); // PANEL_REAUTH_WINDOW_S is 10 in the e2e stack (global-setup.ts)
  await panel.getByLabel("What is it for? (e.g. n8n)").fill("after re-auth");
  await panel.getByRole("button", { name: "Create key" }).click();
  await expect(panel.getByTestId("new-api-key")).toHaveText(/^gwk_/);
  expect(signIns).toBe(2);
  await expect(page.locator("#log")).toContainText("answered REQUEST_USER_DATA x2");
});

test("opened outside GHL, the panel explains instead of crashing", async ({ page }) => {
  await page.goto(`${APP()}/panel`);
  await expect(page.getByText("Open this page from the app's menu inside GoHighLevel.")).toBeVisible();
});
