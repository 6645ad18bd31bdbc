import { defineConfig } from "@playwright/test";

// Debian's Chromium (never `npx playwright install`); the flags keep it off the closed network.
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export default defineConfig({
  testDir: "tests/e2e",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  workers: 1,
  // one retry for the same reason as the integration tests (loaded 2-core machine)
  retries: 1,
  globalSetup: "./tests/e2e/global-setup.ts",
  outputDir: "tests/e2e/.output",
  reporter: [["list"], ["json"]],
  use: {
    browserName: "chromium",
    headless: true,
    launchOptions: { executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: chromiumArgs },
    screenshot: "only-on-failure",
    trace: "off",
  },
});
