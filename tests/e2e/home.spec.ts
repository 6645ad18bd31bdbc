import { expect, test } from "@playwright/test";

// The product's front door in a real browser, and its readiness as an operator sees it.
test("the landing page explains the product and offers the GHL install", async ({ page }) => {
  await page.goto(process.env.E2E_APP_URL!);
  await expect(page.getByRole("heading", { name: "WhatsApp Gateway for GoHighLevel" })).toBeVisible();
  const install = page.getByRole("link", { name: "Install in GoHighLevel" });
  await expect(install).toHaveAttribute("href", "/api/oauth/install");
});

test("readiness shows Postgres, migrations, Redis and a live worker", async ({ request }) => {
  const r = await request.get(`${process.env.E2E_APP_URL}/api/ready`);
  expect(r.status()).toBe(200);
  const body = await r.json();
  expect(body.ok).toBe(true);
  for (const k of ["postgres", "migrations", "redis", "worker"]) expect(body.checks[k].ok).toBe(true);
  // worker ids are for the metrics token only (SECURITY.md, low-severity items)
  expect(body.checks.worker.detail).toBeUndefined();
});

test("the API reference page lists the direct API from the OpenAPI document", async ({ page, request }) => {
  await page.goto(`${process.env.E2E_APP_URL}/api-docs`);
  await expect(page.getByRole("heading", { name: "post /api/send" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "get /api/wa/qr/{instanceId}" })).toBeVisible();
  const doc = await (await request.get(`${process.env.E2E_APP_URL}/api/openapi.json`)).json();
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toContain("/api/send");
});
