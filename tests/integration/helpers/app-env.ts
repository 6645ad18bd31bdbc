import { closeDb } from "@/lib/db";
import { resetEnvCache } from "@/lib/env";
import { closeRedis } from "@/lib/redis";

// Route handlers read configuration through env() and use the process-wide db()/redis(). To call
// a handler directly in an integration test, point that configuration at the test's own database
// and Redis index. Call before the first request; `restore` after the file.
export function useAppEnv(o: { databaseUrl: string; redisDb?: number; extra?: Record<string, string> }) {
  const saved = { ...process.env };
  Object.assign(process.env, {
    APP_URL: "http://127.0.0.1:3999",
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: `${process.env.TEST_REDIS_URL}/${o.redisDb ?? 1}`,
    GHL_CLIENT_ID: "testapp-client",
    GHL_CLIENT_SECRET: "test-client-secret",
    GHL_SSO_KEY: "test-sso-shared-secret",
    ...o.extra,
  });
  resetEnvCache();
  return async function restore() {
    await closeDb();
    await closeRedis();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    resetEnvCache();
  };
}

export function req(url: string, init?: RequestInit & { json?: unknown }): Request {
  const headers = new Headers(init?.headers);
  if (init?.json !== undefined) headers.set("content-type", "application/json");
  return new Request(new URL(url, "http://127.0.0.1:3999"), {
    ...init,
    headers,
    body: init?.json !== undefined ? JSON.stringify(init.json) : init?.body,
  });
}

export const params = <P>(p: P) => ({ params: Promise.resolve(p) });
