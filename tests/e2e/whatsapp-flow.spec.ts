import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";

// The design card's flow, in Chromium, on the whole stack: install from the sandbox Marketplace →
// the panel inside GHL → add wa-01 → QR → the simulated phone scans → ONLINE with its number →
// messages both ways with receipts → the worker restarts (still ONLINE, no new QR) → the phone
// unlinks (the panel says to scan again).
const stackFile = path.join(process.cwd(), ".data", "e2e-stack.json");
const stack = () =>
  JSON.parse(readFileSync(stackFile, "utf8")) as { env: Record<string, string>; workerPid: number; workerPort: number };
const APP = () => process.env.E2E_APP_URL!;
const GHL = () => process.env.E2E_GHL_URL!;
const WA = () => process.env.E2E_WA_URL!;
const LOC = "MapleFitness00000001";
const NUMBER = "15551230001";
const CONTACT = "15557654321";

test.describe.configure({ mode: "serial" });

const panel = (page: Page) => page.frameLocator("iframe#app");
const card = (page: Page) => panel(page).getByTestId("instance-wa-01");

async function waJson(request: APIRequestContext, method: "get" | "post", p: string, data?: unknown) {
  const r = await request[method](`${WA()}/__sandbox${p}`, data === undefined ? undefined : { data });
  expect(r.ok(), `${method.toUpperCase()} ${p} → ${r.status()} ${await r.text()}`).toBe(true);
  return r.json();
}

async function until<T>(fn: () => Promise<T | undefined | null | false>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test("link a number by QR in the panel inside GHL, then message both ways", async ({ page, request }) => {
  // install Maple Fitness from the Marketplace
  await page.goto(`${APP()}/api/oauth/install`);
  await page.locator(`button[data-location-id="${LOC}"]`).click();
  await expect(page).toHaveURL(/\/installed\?r=/);

  // the panel inside GHL: add wa-01, the QR appears
  await page.goto(`${GHL()}/location/${LOC}/custom-page`);
  await expect(panel(page).getByTestId("location-name")).toBeVisible();
  await panel(page).getByRole("button", { name: "Add number" }).click();
  await panel(page).getByLabel("Name").fill("wa-01");
  await panel(page).getByLabel("Label (optional)").fill("Front desk");
  await panel(page).getByRole("button", { name: "Create", exact: true }).click();
  const qrImg = card(page).getByTestId("qr");
  await expect(qrImg).toBeVisible({ timeout: 30_000 });
  await expect(card(page).getByTestId("qr-countdown")).toContainText(/New code in \d+ s/);
  const qr = await qrImg.getAttribute("data-qr");
  expect(qr).toBeTruthy();

  // the phone scans it: ONLINE with the phone number, live
  await waJson(request, "post", "/phones", { phone: NUMBER, name: "Maple front desk" });
  await waJson(request, "post", `/phones/${NUMBER}/scan`, { qr });
  await expect(card(page).getByTestId("status")).toHaveText("Online", { timeout: 30_000 });
  await expect(card(page).getByTestId("phone")).toHaveText(`+${NUMBER}`);
  await expect(card(page).getByTestId("qr")).toHaveCount(0);

  // GHL → WhatsApp: a user writes in the GHL conversation; the contact's phone receives it
  await waJson(request, "post", "/phones", { phone: CONTACT, name: "Ana" });
  const sent = await (
    await request.post(`${GHL()}/__sandbox/locations/${LOC}/messages`, {
      data: { phone: `+${CONTACT}`, message: "Hello from GHL" },
    })
  ).json();
  expect(sent.deliveryStatus).toBe(200);
  const got = await until(async () => {
    const inbox = (await waJson(request, "get", `/phones/${CONTACT}/inbox`)) as { id: string; text?: string }[];
    return inbox.find((m) => m.text === "Hello from GHL");
  }, "the contact's inbox to show the message");

  // receipts: delivered, then read, reach GHL
  await waJson(request, "post", `/phones/${CONTACT}/receipts`, { messageIds: [got.id], type: "delivered" });
  await until(async () => {
    const m = await (await request.get(`${GHL()}/__sandbox/messages/${sent.messageId}`)).json();
    return (m.statuses as { status: string }[]).some((s) => s.status === "delivered");
  }, "delivered in GHL");
  await waJson(request, "post", `/phones/${CONTACT}/receipts`, { messageIds: [got.id], type: "read" });
  const statuses = await until(async () => {
    const m = await (await request.get(`${GHL()}/__sandbox/messages/${sent.messageId}`)).json();
    const s = (m.statuses as { status: string }[]).map((x) => x.status);
    return s.includes("read") ? s : undefined;
  }, "read in GHL");
  expect(statuses).toEqual(["delivered", "read"]);

  // WhatsApp → GHL: the contact replies with text and an image; both land in the conversation
  const png = readFileSync(path.join(process.cwd(), "public", "e2e-image.png")).toString("base64");
  await waJson(request, "post", `/phones/${CONTACT}/send`, { to: NUMBER, text: "Thanks! See you Monday" });
  await waJson(request, "post", `/phones/${CONTACT}/send`, {
    to: NUMBER,
    media: { type: "image", mimetype: "image/png", base64: png, caption: "my card" },
  });
  const inbound = await until(async () => {
    const body = await (await request.get(`${GHL()}/__sandbox/locations/${LOC}/inbound`)).json();
    const list = (Array.isArray(body) ? body : body.messages) as {
      message?: string;
      attachments?: string[];
      conversationId?: string;
      altId?: string;
    }[];
    return list.length >= 2 ? list : undefined;
  }, "two inbound messages in GHL");
  // in the order the contact wrote them (GHL jobs run in parallel; lib/messages/ghl-order.ts)
  expect(inbound.map((m) => m.message)).toEqual(["Thanks! See you Monday", "my card"]);
  for (const m of inbound) expect(m.conversationId).toBe(sent.conversationId);
  const url = inbound[1].attachments![0];
  expect(url).not.toContain("?");
  const img = await request.get(url);
  expect(img.status()).toBe(200);
  expect(img.headers()["content-type"]).toBe("image/png");
  expect(Buffer.from(await img.body()).toString("base64")).toBe(png);
});

test("the worker restarts: still ONLINE, no new QR; the phone unlinks: the panel says to scan again", async ({
  page,
  request,
}) => {
  const s = stack();
  const pairingsBefore = ((await waJson(request, "get", "/devices")) as { phone: string; pairings: number }[]).find(
    (d) => d.phone === NUMBER,
  )!.pairings;
  process.kill(-s.workerPid, "SIGTERM");
  await until(
    async () => {
      try {
        process.kill(s.workerPid, 0);
        return false;
      } catch {
        return true;
      }
    },
    "the worker to stop",
    25_000,
  );
  const tsx = path.join(process.cwd(), "node_modules", "tsx", "dist", "cli.mjs");
  const w = spawn(process.execPath, [tsx, "worker/main.ts"], {
    env: { ...process.env, ...s.env, WORKER_HTTP_PORT: String(s.workerPort + 50), WORKER_ID: "e2e-restarted" },
    stdio: "ignore",
    detached: true,
  });
  try {
    await page.goto(`${GHL()}/location/${LOC}/custom-page`);
    await expect(card(page).getByTestId("status")).toHaveText("Online", { timeout: 45_000 });
    await expect(card(page).getByTestId("qr")).toHaveCount(0);
    const devices = (await waJson(request, "get", "/devices")) as { phone: string; pairings: number; logins: number }[];
    expect(devices.find((d) => d.phone === NUMBER)!.pairings).toBe(pairingsBefore);

    // the panel's message log shows both directions with their statuses
    const log = panel(page).getByTestId("message-log");
    await expect(log).toContainText("Hello from GHL");
    await expect(log.locator("tr", { hasText: "Hello from GHL" })).toContainText("READ");
    await expect(log).toContainText("Thanks! See you Monday");

    // sending settings: a default country, then a national number reaches the phone through the API
    await panel(page).getByLabel("Default country for numbers written without +").selectOption("US");
    await panel(page).getByRole("button", { name: "Save", exact: true }).click();
    await expect(panel(page).getByText("Saved")).toBeVisible();

    // an API key made in the panel drives the same number through the direct API
    await panel(page).getByLabel("What is it for? (e.g. n8n)").fill("n8n");
    await panel(page).getByRole("button", { name: "Create key" }).click();
    const key = (await panel(page).getByTestId("new-api-key").textContent())!;
    expect(key).toMatch(/^gwk_/);
    const list = await (await request.get(`${APP()}/api/instances`, { headers: { "x-api-key": key } })).json();
    expect(list.instances).toEqual([
      expect.objectContaining({ instanceId: "wa-01", status: "ONLINE", phone: `+${NUMBER}` }),
    ]);
    const queued = await request.post(`${APP()}/api/send`, {
      headers: { "x-api-key": key },
      data: { instanceId: "wa-01", to: "(555) 765-4321", message: "Sent through the API" },
    });
    expect(queued.status()).toBe(202);
    await until(
      async () =>
        ((await waJson(request, "get", `/phones/${CONTACT}/inbox`)) as { text?: string }[]).some(
          (m) => m.text === "Sent through the API",
        ),
      "the API message on the phone",
    );

    await waJson(request, "post", `/phones/${NUMBER}/unlink`, {});
    await expect(card(page).getByTestId("status")).toHaveText("Logged out — scan again", { timeout: 30_000 });
    await expect(card(page).getByRole("button", { name: "Show a new QR" })).toBeVisible();
  } finally {
    try {
      process.kill(-w.pid!, "SIGTERM");
    } catch {}
  }
});
