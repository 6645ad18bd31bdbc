// Starts the whole stack on the sandbox: simulators, app, worker. Used by `npm run dev` and by
// the e2e tests, so both run the same thing.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { dataDir, root, sleep, startChild, waitForHttp } from "./bootstrap.mjs";

export const SANDBOX_CLIENT = {
  clientId: "6650f0a1b2c3d4e5f6a7b8c9-sandbox",
  clientSecret: "sandbox-client-secret-0123456789",
  ssoKey: "sandbox-shared-secret-0123456789",
  conversationProviderId: "sandbox-provider-0001",
};

export { freePort } from "./bootstrap.mjs";

export function generatedSecrets() {
  return {
    ENCRYPTION_KEY: `k1:${randomBytes(32).toString("base64")}`,
    NEXTAUTH_SECRET: randomBytes(32).toString("base64url"),
  };
}

const tsx = path.join(root, "node_modules", "tsx", "dist", "cli.mjs");
const nextBin = path.join(root, "node_modules", "next", "dist", "bin", "next");

/**
 * @param {{ appPort: number, ghlPort: number, waPort: number, workerPort: number, databaseUrl: string,
 *   redisUrl: string, secrets: Record<string,string>, mode: "dev" | "prod", extraEnv?: Record<string,string>,
 *   workers?: number, quiet?: boolean }} o
 */
export async function startStack(o) {
  const children = [];
  const appUrl = `http://127.0.0.1:${o.appPort}`;
  const runtimeFile = path.join(dataDir, `sandbox-runtime-${o.ghlPort}.json`);
  mkdirSync(dataDir, { recursive: true });
  rmSync(runtimeFile, { force: true });

  const logEnv = o.quiet ? { LOG_LEVEL: "warn" } : {};
  const sandbox = startChild(
    "sandbox",
    process.execPath,
    [tsx, "sandbox/main.ts"],
    {
      SANDBOX_GHL_PORT: String(o.ghlPort),
      SANDBOX_WA_PORT: String(o.waPort),
      SANDBOX_APP_URL: appUrl,
      SANDBOX_RUNTIME_FILE: runtimeFile,
      SANDBOX_CLIENT_ID: SANDBOX_CLIENT.clientId,
      SANDBOX_CLIENT_SECRET: SANDBOX_CLIENT.clientSecret,
      SANDBOX_SSO_KEY: SANDBOX_CLIENT.ssoKey,
      SANDBOX_PROVIDER_ID: SANDBOX_CLIENT.conversationProviderId,
      ...logEnv,
    },
    33,
  );
  children.push(sandbox);
  let runtime;
  try {
    runtime = await waitForFile(runtimeFile, 60_000, sandbox);
  } catch (e) {
    try {
      process.kill(-sandbox.pid, "SIGKILL");
    } catch {}
    throw e;
  }

  const env = {
    NODE_ENV: o.mode === "prod" ? "production" : "development",
    APP_URL: appUrl,
    NEXTAUTH_URL: appUrl,
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    ...o.secrets,
    GHL_CLIENT_ID: SANDBOX_CLIENT.clientId,
    GHL_CLIENT_SECRET: SANDBOX_CLIENT.clientSecret,
    GHL_SSO_KEY: SANDBOX_CLIENT.ssoKey,
    GHL_API_BASE_URL: runtime.ghl.url,
    GHL_MARKETPLACE_URL: runtime.ghl.url,
    GHL_WEBHOOK_PUBLIC_KEY_ED25519: runtime.ghl.ed25519PublicKeyPem,
    GHL_WEBHOOK_PUBLIC_KEY_RSA: runtime.ghl.rsaPublicKeyPem,
    GHL_CONVERSATION_PROVIDER_ID: SANDBOX_CLIENT.conversationProviderId,
    // the header the GHL simulator's Marketplace listing sends on workflow calls (SANDBOX_WORKFLOW_SECRET, sandbox/ghl/config.ts)
    GHL_WORKFLOW_SECRET: "sandbox-workflow-secret-0123456789",
    PANEL_FRAME_ANCESTORS: `${runtime.ghl.url} http://localhost:${o.ghlPort}`,
    WA_WEBSOCKET_URL: runtime.wa.wsUrl,
    WA_SANDBOX_ROOT_PUBLIC_KEY: runtime.wa.rootPublicKey,
    WA_ALLOW_SANDBOX_IN_PRODUCTION: "true",
    // the SSRF guard lets media and webhooks reach only the simulators among local addresses
    MEDIA_URL_ALLOWED_ORIGINS: [runtime.ghl.url, `http://localhost:${o.ghlPort}`, runtime.wa.url].join(","),
    ...(runtime.wa.clientEnv ?? {}),
    ...logEnv,
    ...(o.extraEnv ?? {}),
  };

  const appArgs =
    o.mode === "prod"
      ? [nextBin, "start", "-p", String(o.appPort), "-H", "127.0.0.1"]
      : [nextBin, "dev", "-p", String(o.appPort), "-H", "127.0.0.1"];
  // BENCH_APP_CPU_PROF=<dir>: a V8 CPU profile of the app's whole life, written when it stops
  const appProf = process.env.BENCH_APP_CPU_PROF
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_APP_CPU_PROF}`]
    : [];
  const app = startChild("app", process.execPath, [...appProf, ...appArgs], { ...env, PORT: String(o.appPort) }, 32);
  children.push(app);

  const workerChildren = [];
  const startWorker = (i) => {
    const w = startChild(
      `worker${i || ""}`,
      process.execPath,
      [tsx, "worker/main.ts"],
      {
        ...env,
        NODE_ENV: env.NODE_ENV,
        WORKER_HTTP_PORT: String(o.workerPort + i),
        WORKER_ID: `worker-${o.workerPort + i}`,
      },
      34,
    );
    workerChildren[i] = w;
    children.push(w);
    return w;
  };
  for (let i = 0; i < (o.workers ?? 1); i++) startWorker(i);

  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(-c.pid, "SIGTERM");
        } catch {}
      }
    }
    const deadline = Date.now() + 15_000;
    while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline)
      await sleep(100);
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(-c.pid, "SIGKILL");
        } catch {}
      }
    }
  };
  try {
    await waitForHttp(`${appUrl}/api/health`, { timeoutMs: 180_000, ok: (s) => s === 200 });
    await waitForHttp(`${appUrl}/api/ready`, { timeoutMs: 60_000, ok: (s) => s === 200 });
  } catch (e) {
    await stop(); // never leave a half-started stack behind
    throw e;
  }
  return { appUrl, env, runtime, children, workers: workerChildren, startWorker, stop };
}

async function waitForFile(file, timeoutMs, child) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child && child.exitCode !== null)
      throw new Error(`the sandbox exited (code ${child.exitCode}) before it was ready; see its output above`);
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, "utf8"));
      } catch {}
    }
    await sleep(200);
  }
  throw new Error(`the sandbox did not start within ${timeoutMs} ms (no ${file})`);
}
