import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { type GhlSimulator, startGhlSimulator } from "@/sandbox/ghl/server";
import { useAppEnv } from "./app-env";

// The app's GHL-facing routes behind a plain HTTP server (no Next), wired to an in-process GHL
// simulator, so that the simulator's redirects and signed webhooks reach the real handlers.
type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

export async function startGhlHarness(o: {
  databaseUrl: string;
  routes: Record<string, Handler>;
  redisDb?: number;
  sim?: Parameters<typeof startGhlSimulator>[0];
  env?: Record<string, string>;
}) {
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const h = o.routes[`${req.method} ${url.pathname}`];
    if (!h) return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const r = await h(new Request(new URL(url.pathname + url.search, appUrl), { method: req.method, headers, body }), {
      params: Promise.resolve({}),
    });
    res.writeHead(r.status, Object.fromEntries(r.headers));
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ghl: GhlSimulator = await startGhlSimulator({
    port: 0,
    seed: true,
    appBaseUrl: appUrl,
    clientId: "6650f0aa11-testapp",
    ...o.sim,
  });
  const redisDb = o.redisDb ?? 1;
  const flush = new Redis(`${process.env.TEST_REDIS_URL}/${redisDb}`);
  await flush.flushdb();
  await flush.quit();
  const restoreEnv = useAppEnv({
    databaseUrl: o.databaseUrl,
    redisDb,
    extra: {
      APP_URL: appUrl,
      GHL_API_BASE_URL: ghl.url,
      GHL_MARKETPLACE_URL: ghl.url,
      GHL_CLIENT_ID: ghl.config.clientId,
      GHL_CLIENT_SECRET: ghl.config.clientSecret,
      GHL_SSO_KEY: ghl.config.ssoKey,
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: ghl.config.publicKeys.ed25519,
      GHL_WEBHOOK_PUBLIC_KEY_RSA: ghl.config.publicKeys.rsa,
      ...o.env,
    },
  });
  return {
    appUrl,
    ghl,
    async control<T = any>(method: string, path: string, json?: unknown): Promise<{ status: number; body: T }> {
      const r = await fetch(`${ghl.url}/__sandbox${path}`, {
        method,
        headers: json === undefined ? {} : { "content-type": "application/json" },
        body: json === undefined ? undefined : JSON.stringify(json),
      });
      return { status: r.status, body: (await r.json()) as T };
    },
    async close() {
      await ghl.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await restoreEnv();
    },
  };
}

/** What a user does on the Marketplace page: submit the choose-location form GHL rendered for our URL. */
export async function consentOnMarketplace(
  authorizeUrl: string,
  target: { locationId: string } | { companyId: string },
) {
  const u = new URL(authorizeUrl);
  const form = new URLSearchParams({
    client_id: u.searchParams.get("client_id") ?? "",
    redirect_uri: u.searchParams.get("redirect_uri") ?? "",
    scope: u.searchParams.get("scope") ?? "",
    state: u.searchParams.get("state") ?? "",
    ...target,
    ...("companyId" in target ? { installToFutureLocations: "true" } : {}),
  });
  const r = await fetch(new URL("/v2/oauth/chooselocation", u), { method: "POST", body: form, redirect: "manual" });
  if (r.status !== 302) throw new Error(`the marketplace answered ${r.status}: ${await r.text()}`);
  return r.headers.get("location")!;
}

/**
 * An install as a person makes it: the app's install route, the Marketplace's consent for `target`,
 * then the app's callback with the state cookie the browser carried. Returns the callback's answer.
 */
export async function installThroughApp(appUrl: string, target: { locationId: string } | { companyId: string }) {
  const start = await fetch(`${appUrl}/api/oauth/install`, { redirect: "manual" });
  const cookie = (start.headers.get("set-cookie") ?? "").split(";")[0];
  return fetch(await consentOnMarketplace(start.headers.get("location")!, target), {
    redirect: "manual",
    headers: cookie ? { cookie } : {},
  });
}

export async function waitUntil<T>(f: () => Promise<T | null | undefined | false>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
