import { writeFileSync } from "node:fs";
import path from "node:path";
import { dataDir } from "../../scripts/lib/bootstrap.mjs";
import { freePort, startStack } from "../../scripts/lib/stack.mjs";
import { cloneTemplateDb } from "../integration/helpers/db";

// The whole stack on the sandbox, production build, own database and Redis DB index, on free
// ports (never a developer's `npm run dev`, nor another run's).
export default async function globalSetup() {
  const databaseUrl = await cloneTemplateDb(`ghl_wa_e2e_${process.pid}`);
  const redisUrl = `${required("TEST_REDIS_URL")}/2`;
  const { Redis } = await import("ioredis");
  const r = new Redis(redisUrl);
  await r.flushdb();
  await r.quit();
  const E2E_PORTS = { app: await freePort(), ghl: await freePort(), wa: await freePort(), worker: await freePort() };
  const stack = await startStack({
    appPort: E2E_PORTS.app,
    ghlPort: E2E_PORTS.ghl,
    waPort: E2E_PORTS.wa,
    workerPort: E2E_PORTS.worker,
    databaseUrl,
    redisUrl,
    mode: "prod",
    quiet: true,
    secrets: { ENCRYPTION_KEY: required("ENCRYPTION_KEY"), NEXTAUTH_SECRET: required("NEXTAUTH_SECRET") },
    // short enough for a test to outlive it: minting a key then re-runs the SSO handshake (install-panel.spec)
    extraEnv: { PANEL_REAUTH_WINDOW_S: "10" },
  });
  process.env.E2E_APP_URL = stack.appUrl;
  process.env.E2E_GHL_URL = stack.runtime.ghl.url;
  process.env.E2E_WA_URL = stack.runtime.wa.url;
  process.env.E2E_DATABASE_URL = databaseUrl;
  // tests run in other processes: they restart the worker through its pid and the same env
  writeFileSync(
    path.join(dataDir, "e2e-stack.json"),
    JSON.stringify(
      {
        appUrl: stack.appUrl,
        runtime: stack.runtime,
        env: stack.env,
        workerPid: stack.workers[0]?.pid,
        workerPort: E2E_PORTS.worker,
      },
      null,
      2,
    ),
  );
  return async () => {
    await stack.stop();
  };
}

function required(k: string): string {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run the e2e tests through \`npm test\` (scripts/test.mjs)`);
  return v;
}
