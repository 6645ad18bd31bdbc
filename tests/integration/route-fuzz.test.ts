import "./helpers/next-als"; // first: Next's request stores must see AsyncLocalStorage
import { createHash, createSign, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { PANEL_SESSION_COOKIE } from "@/lib/auth/auth-options";
import { db } from "@/lib/db";
import { createInstallState } from "@/lib/ghl/oauth";
import { saveMedia } from "@/lib/media/media-store";
import { WORKER_HEARTBEAT_PREFIX } from "@/lib/ops/readiness";
import { redis } from "@/lib/redis";
import { useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { callInNextScope } from "./helpers/next-request-scope";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";
import {
  type Body,
  bodyArb,
  CONTENT_TYPES,
  classifyExports,
  discoverRoutes,
  headerSafe,
  jsonValue,
  junk,
  pct,
  queryArb,
  type RouteFile,
  shapedBody,
} from "./helpers/route-fuzz-kit";

// Every route under app/api, called as Next calls it (a NextRequest inside a request scope), with
// malformed bodies, content types, headers, path params and query strings, with no credentials,
// garbage ones and valid ones (an API key, a panel session, GHL signatures made with the key the
// app is configured with), so the authenticated code paths are fuzzed too. Nothing may answer 5xx
// or throw: bad input is a 4xx (AGENTS.md#errors). New routes are found on disk and fuzzed with
// the generic arbitraries; a route exporting something the fuzzer cannot call fails.
//   FUZZ_SEED (default 20261202) and FUZZ_RUNS (calls per method, default 150) reproduce or widen a run.

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
/**
 * 503 is the answer for "a dependency is down"; Postgres and Redis are up here, so none is expected.
 * GHL is unreachable on purpose (a closed port); the panel users' roles are in the role cache as GHL
 * would have answered them (ghlSays), so admin-only routes read their input instead of failing closed.
 */
const ALLOWED_5XX: { route: string; status: number; why: string }[] = [];

const APP = "http://127.0.0.1:3999";
const METRICS_TOKEN = "fuzz-metrics-token-0123456789";
const APP_ID = "fuzzapp";
const ROUTES = discoverRoutes(path.join(process.cwd(), "app"));
const MODULES = await Promise.all(
  ROUTES.map(async (r) => ({ r, mod: (await import(/* @vite-ignore */ r.file)) as Record<string, unknown> })),
);

type Fx = {
  key: string;
  keyId: string;
  revokedKey: string;
  goneKey: string;
  spareKeyId: string;
  cookie: string;
  agencyCookie: string;
  goneCookie: string;
  expiredCookie: string;
  userCookie: string;
  instanceIds: string[];
  messageId: string;
  media: { mediaId: string; expires: string; signature: string; fileName: string };
  states: string[];
};
let fx: Fx;
let restore: () => Promise<void>;
const keys = { ed: generateKeyPairSync("ed25519"), rsa: generateKeyPairSync("rsa", { modulusLength: 2048 }) };
const stats = new Map<string, { calls: number; statuses: Map<number, number>; bodies: Map<string, number> }>();
const failures: string[] = [];
const unhandled: string[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e instanceof Error ? (e.stack ?? e.message) : String(e));

beforeAll(async () => {
  restore = useAppEnv({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    redisDb: 3,
    extra: {
      GHL_CLIENT_ID: `${APP_ID}-client`,
      METRICS_TOKEN,
      MEDIA_URL_ALLOWED_ORIGINS: "http://127.0.0.1:9",
      // GHL itself is never reached: a closed port fails fast
      GHL_API_BASE_URL: "http://127.0.0.1:9",
      GHL_MARKETPLACE_URL: "http://127.0.0.1:9",
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: keys.ed.publicKey.export({ type: "spki", format: "pem" }).toString(),
      GHL_WEBHOOK_PUBLIC_KEY_RSA: keys.rsa.publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
  });
  await redis().flushdb();
  await db().company.createMany({
    data: [
      { id: "co1", name: "Agency", installed: true },
      { id: "coW", name: "Webhook target", installed: true },
      { id: "coGone", installed: false },
    ],
  });
  await db().location.createMany({
    data: [
      { id: "locA", name: "A", companyId: "co1" },
      { id: "locB", name: "B", companyId: "co1" },
      { id: "locW", name: "W", companyId: "coW" },
      { id: "locGone", name: "Gone", companyId: "coGone", installed: false, uninstalledAt: new Date() },
    ],
  });
  const a1 = await db().instance.create({ data: { locationId: "locA", name: "wa-01" } });
  const a2 = await db().instance.create({ data: { locationId: "locA", name: "wa-02" } });
  const b1 = await db().instance.create({ data: { locationId: "locB", name: "wa-01" } });
  const m = await db().message.create({
    data: { locationId: "locA", instanceId: a1.id, direction: "OUTBOUND", source: "API", status: "SENT", text: "hi" },
  });
  const k = await createApiKey(db(), "locA", "fuzz");
  const spare = await createApiKey(db(), "locA", "spare");
  const revoked = await createApiKey(db(), "locA", "revoked");
  await db().apiKey.update({ where: { id: revoked.id }, data: { revokedAt: new Date() } });
  const gone = await createApiKey(db(), "locGone", "gone");
  const { path: mediaPath } = await saveMedia(db(), "locA", {
    bytes: Buffer.from("PNG"),
    mimetype: "image/png",
    fileName: "a b.png",
  });
  const [, , , mediaId, expires, signature, fileName] = mediaPath.split("/");
  const who = {
    admin: identity({ locationId: "locA", companyId: "co1" }),
    agency: identity({ locationId: "locA", companyId: "co1", agency: true }),
    user: identity({ locationId: "locA", companyId: "co1", role: "user", userId: "u-2" }),
  };
  await ghlSays(redis(), who.admin);
  await ghlSays(redis(), who.agency);
  await ghlSays(redis(), who.user, { role: "user" });
  fx = {
    key: k.key,
    keyId: k.id,
    revokedKey: revoked.key,
    goneKey: gone.key,
    spareKeyId: spare.id,
    cookie: await panelCookie(who.admin),
    agencyCookie: await panelCookie(who.agency),
    userCookie: await panelCookie(who.user),
    goneCookie: await panelCookie(identity({ locationId: "locGone", companyId: "coGone" })),
    expiredCookie: await panelCookie(identity({ locationId: "locA", companyId: "co1" }), -60),
    instanceIds: [a1.id, a2.id, b1.id],
    messageId: m.id,
    media: { mediaId, expires, signature, fileName: decodeURIComponent(fileName) },
    states: await Promise.all(Array.from({ length: 20 }, () => createInstallState(redis()))),
  };
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
  console.log(`route fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} (${ROUTES.length} route files)`);
});

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
  const lines = [...stats.entries()].map(([k, s]) => {
    const h = [...s.statuses.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([st, n]) => `${st}×${n}`)
      .join(" ");
    return `  ${k.padEnd(58)} ${String(s.calls).padStart(4)} calls  ${h}`;
  });
  const total = [...stats.values()].reduce((n, s) => n + s.calls, 0);
  console.log(
    `route fuzz results (FUZZ_SEED=${SEED}, FUZZ_RUNS=${RUNS}): ${total} calls, ${failures.length} 5xx/throws, ${unhandled.length} unhandled\n${lines.join("\n")}`,
  );
  if (failures.length) console.log(`5xx and throws:\n${failures.map((f) => `  ${f.slice(0, 700)}`).join("\n")}`);
  await restore?.();
});

// Valid credentials may be spent by the fuzz itself (a key revoked, a number deleted, a location
// uninstalled by a signed webhook): every route starts from the same fixtures.
async function resetFixtures() {
  await db().location.updateMany({
    where: { id: { in: ["locA", "locB", "locW"] } },
    data: { installed: true, uninstalledAt: null },
  });
  await db().company.updateMany({ where: { id: { in: ["co1", "coW"] } }, data: { installed: true } });
  await db().apiKey.updateMany({ where: { id: { in: [fx.keyId, fx.spareKeyId] } }, data: { revokedAt: null } });
  for (const [i, id] of fx.instanceIds.entries()) {
    const [locationId, name] = [
      ["locA", "wa-01"],
      ["locA", "wa-02"],
      ["locB", "wa-01"],
    ][i];
    if (!(await db().instance.findUnique({ where: { id } })))
      await db()
        .instance.deleteMany({ where: { locationId, name } })
        .then(() => db().instance.create({ data: { id, locationId, name } }));
  }
  await redis().set(`${WORKER_HEARTBEAT_PREFIX}fuzz-worker`, "{}", "PX", 600_000);
}

// ---- what one call is made of --------------------------------------------------------------------

type Auth = { headers: Record<string, string>; sign?: "ed25519" | "rsa" | "both"; label: string };
type Case = {
  method: string;
  params: Record<string, string | string[]>;
  query: string;
  auth: Auth[];
  contentType?: string;
  origin?: string;
  extra: Record<string, string>;
  body: Body;
};

function authArb(route: string): fc.Arbitrary<Auth> {
  const signedRoute = route === "/api/ghl/webhooks" || route === "/api/ghl/delivery";
  const a = (label: string, headers: Record<string, string>, sign?: Auth["sign"]): Auth => ({ label, headers, sign });
  const j = junk.map(headerSafe);
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(a("none", {})) },
    { weight: 6, arbitrary: fc.constant(a("api-key", { "x-api-key": fx.key })) },
    { weight: 2, arbitrary: fc.constant(a("bearer", { authorization: `Bearer ${fx.key}` })) },
    { weight: 6, arbitrary: fc.constant(a("cookie", { cookie: fx.cookie, origin: APP })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        a("agency-cookie", { cookie: fx.agencyCookie, origin: APP }),
        a("user-cookie", { cookie: fx.userCookie, origin: APP }),
      ),
    },
    { weight: 1, arbitrary: fc.constant(a("metrics-token", { authorization: `Bearer ${METRICS_TOKEN}` })) },
    {
      weight: signedRoute ? 16 : 2,
      arbitrary: fc.constantFrom(a("ghl-ed25519", {}, "ed25519"), a("ghl-rsa", {}, "rsa"), a("ghl-both", {}, "both")),
    },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.constantFrom(
          a("revoked-key", { "x-api-key": fx.revokedKey }),
          a("uninstalled-key", { "x-api-key": fx.goneKey }),
          a("uninstalled-cookie", { cookie: fx.goneCookie, origin: APP }),
          a("expired-cookie", { cookie: fx.expiredCookie, origin: APP }),
          a("cookie-no-origin", { cookie: fx.cookie }),
          a("cookie-evil-origin", { cookie: fx.cookie, origin: "https://evil.example" }),
          a("cookie-null-origin", { cookie: fx.cookie, origin: "null" }),
          a("two-session-cookies", { cookie: `${fx.cookie}; ${PANEL_SESSION_COOKIE}=x`, origin: APP }),
          a("tampered-cookie", { cookie: fx.cookie.slice(0, -4) + "AAAA", origin: APP }),
          a("bearer-empty", { authorization: "Bearer" }),
          a("basic", { authorization: "Basic Zm9vOmJhcg==" }),
        ),
        j.map((v) => a("junk-api-key", { "x-api-key": v })),
        j.map((v) => a("junk-authorization", { authorization: v })),
        j.map((v) => a("junk-bearer", { authorization: `Bearer ${v}` })),
        j.map((v) => a("junk-cookie", { cookie: `${PANEL_SESSION_COOKIE}=${v}`, origin: APP })),
        j.map((v) => a("junk-cookie-header", { cookie: v })),
        j.map((v) => a("junk-ghl-signature", { "x-ghl-signature": v })),
        j.map((v) => a("junk-wh-signature", { "x-wh-signature": v })),
      ),
    },
  );
}

function paramArb(name: string): fc.Arbitrary<string> {
  const known: Record<string, string[]> = {
    id: [...fx.instanceIds, fx.messageId, fx.spareKeyId, randomUUID()],
    action: ["start", "stop", "restart", "logout", "pairing-code", "default", "explode"],
    instanceId: ["wa-01", "wa-02", "wa-03"],
    mediaId: [fx.media.mediaId],
    expires: [fx.media.expires, "0", "99999999999"],
    signature: [fx.media.signature],
    fileName: [fx.media.fileName],
  };
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(known[name] ?? ["x"])) }, { weight: 2, arbitrary: junk });
}

function caseArb(r: RouteFile, method: string): fc.Arbitrary<Case> {
  const params: Record<string, fc.Arbitrary<string | string[]>> = {};
  for (const s of r.segments) {
    if (s.kind === "param") params[s.name] = paramArb(s.name);
    if (s.kind === "catchAll") {
      params[s.name] = fc.oneof(
        fc.constantFrom<string[]>(
          ["session"],
          ["csrf"],
          ["providers"],
          ["signin"],
          ["signin", "ghl-sso"],
          ["callback", "ghl-sso"],
          ["signout"],
          ["error"],
          ["_log"],
          ["verify-request"],
        ),
        fc.array(junk, { minLength: s.optional ? 0 : 1, maxLength: 4 }),
      );
    }
  }
  const webhook = r.route === "/api/ghl/webhooks";
  const now = () => new Date().toISOString();
  const shaped = shapedBody({
    locationId: webhook ? fc.constantFrom("locW", "locNope") : fc.constantFrom("locA", "locB", "locW", "locGone"),
    companyId: webhook ? fc.constantFrom("coW", "coNope") : fc.constantFrom("co1", "coGone"),
    appId: fc.constantFrom(APP_ID, APP_ID, "otherApp"),
    type: fc.constantFrom("INSTALL", "UNINSTALL", "SMS", "Custom", "Email", "text", "image", "document"),
    timestamp: fc.oneof(fc.constant(null).map(now), fc.constantFrom("2020-01-01T00:00:00Z", "not a date", "")),
    webhookId: fc.oneof(fc.uuid(), junk),
    messageId: fc.uuid(),
    contactId: fc.constantFrom("c-1", "c-2"),
    phone: fc.constantFrom("+15557654321", "+5511999998888", "123"),
    to: fc.constantFrom("+15557654321", "+5511999998888"),
    instanceId: fc.constantFrom("wa-01", "wa-02", "wa-09"),
    message: fc.constantFrom("hello", " "),
    label: fc.constantFrom("ci", "x".repeat(64)),
    url: fc.constantFrom("http://127.0.0.1:9/hook", "https://hooks.example.com/x", null),
    attachments: fc.array(
      fc.constantFrom("http://127.0.0.1:9/a.png", "http://10.0.0.1/x", "https://example.com/a.jpg"),
      { maxLength: 3 },
    ),
    maxWaitMinutes: fc.integer({ min: 1, max: 10080 }),
    defaultCountry: fc.constantFrom("US", "BR", null),
    providerMode: fc.constantFrom("sms", "custom"),
    typingSimulation: fc.boolean(),
    payload: junk,
  });
  // valid bodies of every schema with up to two fields replaced by junk or removed: past validation
  const templates: Record<string, unknown>[] = [
    { instanceId: "wa-01", to: "+15557654321", type: "text", message: "hello" },
    { instanceId: "wa-01", to: "+15557654321", type: "image", mediaUrl: "http://127.0.0.1:9/a.png", caption: "c" },
    { phone: "+15557654321", message: "from a workflow", contactId: "c-1" },
    {
      contactId: "c-1",
      locationId: "locA",
      messageId: "m-1",
      type: "SMS",
      phone: "+15557654321",
      message: "hi",
      attachments: [],
    },
    { type: "INSTALL", appId: APP_ID, companyId: "coW", locationId: "locW", timestamp: "now", webhookId: "w-1" },
    { type: "UNINSTALL", appId: APP_ID, locationId: "locW", timestamp: "now", webhookId: "w-2" },
    { instanceId: "wa-05", phoneAlias: "Sales" },
    { instanceId: "wa-01", forceNew: true, confirm: "wa-01" },
    { label: "n8n" },
    { url: "http://127.0.0.1:9/hook" },
    { defaultCountry: "BR", providerMode: "custom", maxWaitMinutes: 30, typingSimulation: true },
    { phone: "+15551234567" },
  ];
  const nearValid = fc
    .tuple(
      fc.constantFrom(...templates),
      fc.array(
        fc.tuple(
          fc.constantFrom(...templates.flatMap(Object.keys)),
          fc.option(fc.oneof(junk, jsonValue), { nil: undefined }),
        ),
        { maxLength: 2 },
      ),
      fc.uuid(),
    )
    .map(([t, changes, id]): Body => {
      const b: Record<string, unknown> = {
        ...t,
        ...(t.messageId ? { messageId: id } : {}),
        ...(t.webhookId ? { webhookId: id } : {}),
        ...(t.timestamp ? { timestamp: new Date().toISOString() } : {}),
      };
      for (const [k, v] of changes)
        if (v === undefined) delete b[k];
        else b[k] = v;
      return { kind: "near-valid", bytes: new Uint8Array(Buffer.from(JSON.stringify(b))) };
    });
  const queryValues = fc.constantFrom(
    ...fx.states,
    "QUEUED",
    "SENT",
    "wa-01",
    "10",
    "200",
    "2026-01-01T00:00:00Z",
    "denied",
    "code-x",
  );
  return fc.record({
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constant(method) },
      { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND") },
    ),
    params: fc.record(params) as fc.Arbitrary<Record<string, string | string[]>>,
    query: queryArb(
      ["instanceId", "status", "before", "limit", "code", "state", "error", "callbackUrl", "csrf"],
      queryValues,
    ),
    auth: fc.oneof(
      { weight: 4, arbitrary: authArb(r.route).map((a) => [a]) },
      { weight: 1, arbitrary: fc.array(authArb(r.route), { minLength: 2, maxLength: 3 }) },
    ),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant("application/json") },
      { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      { weight: 1, arbitrary: junk.map(headerSafe) },
      { weight: 2, arbitrary: fc.constant(undefined) },
    ),
    origin: fc.option(
      fc.constantFrom(
        APP,
        "https://app.gohighlevel.com",
        "https://evil.example",
        "null",
        "http://127.0.0.1:3999/",
        "%%%",
      ),
      { nil: undefined, freq: 2 },
    ),
    extra: fc.record(
      {
        "x-request-id": junk.map(headerSafe),
        "content-length": fc.constantFrom("0", "-1", "abc", "99999999999", "1"),
        accept: fc.constantFrom("text/event-stream", "*/*", "application/json"),
        "sec-fetch-site": fc.constantFrom("same-origin", "cross-site", "none"),
        "x-forwarded-for": junk.map(headerSafe),
        host: fc.constantFrom("evil.example", "127.0.0.1:3999"),
      },
      { requiredKeys: [] },
    ),
    body: fc.oneof({ weight: 2, arbitrary: bodyArb(shaped) }, { weight: 1, arbitrary: nearValid }),
  });
}

// ---- making and judging a call -------------------------------------------------------------------

function buildRequest(r: RouteFile, c: Case, signal: AbortSignal): Request {
  const pathname = r.segments
    .map((s) =>
      s.kind === "static"
        ? s.value
        : s.kind === "param"
          ? pct(c.params[s.name] as string)
          : (c.params[s.name] as string[]).map(pct).join("/"),
    )
    .join("/");
  const url = new URL(`/${pathname}${c.query}`, APP);
  const headers = new Headers();
  const set = (k: string, v: string) => {
    try {
      headers.set(k, v);
    } catch {
      /* a value no client could send */
    }
  };
  for (const [k, v] of Object.entries(c.extra)) set(k, v);
  if (c.origin !== undefined) set("origin", c.origin);
  if (c.contentType !== undefined) set("content-type", c.contentType);
  for (const a of c.auth) for (const [k, v] of Object.entries(a.headers)) set(k, v);
  const noBody = c.method === "GET" || c.method === "HEAD";
  const bytes = noBody ? undefined : c.body.bytes;
  const signed = Buffer.from(bytes ?? new Uint8Array());
  for (const a of c.auth) {
    if (a.sign === "ed25519" || a.sign === "both")
      set("x-ghl-signature", sign(null, signed, keys.ed.privateKey).toString("base64"));
    if (a.sign === "rsa" || a.sign === "both")
      set("x-wh-signature", createSign("SHA256").update(signed).end().sign(keys.rsa.privateKey, "base64"));
  }
  if (bytes && headers.has("content-length") && Number(headers.get("content-length")) !== bytes.length)
    headers.delete("content-length");
  return new Request(url, { method: c.method, headers, body: bytes as Uint8Array<ArrayBuffer> | undefined, signal });
}

function describeCase(c: Case): string {
  const b = c.body.bytes ? Buffer.from(c.body.bytes).toString("utf8") : "";
  return JSON.stringify({
    method: c.method,
    params: c.params,
    query: c.query.slice(0, 200),
    auth: c.auth.map((a) => a.label),
    contentType: c.contentType,
    origin: c.origin,
    extra: Object.fromEntries(Object.entries(c.extra).map(([k, v]) => [k, v.slice(0, 80)])),
    body: `${c.body.kind}:${b.length}:${b.slice(0, 300)}`,
  });
}

async function callOnce(
  handler: (req: Request, ctx: { params: Promise<unknown> }) => Promise<Response>,
  r: RouteFile,
  c: Case,
): Promise<{ status: number; code?: string; error?: string }> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    const req = buildRequest(r, c, ac.signal);
    const res = await Promise.race([
      callInNextScope(handler, req, c.params, r.route),
      new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error("no answer within 20 s")), 20_000))),
    ]);
    if (!(res instanceof Response)) return { status: 0, error: `returned ${typeof res}, not a Response` };
    if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
      await res.body?.cancel();
      return { status: res.status };
    }
    const text = new TextDecoder().decode(await res.arrayBuffer());
    let code: string | undefined;
    if (res.status === 503) {
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      } catch {
        /* not JSON */
      }
    }
    return { status: res.status, code };
  } catch (e) {
    return {
      status: 0,
      error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split("\n").slice(1, 6).join("\n")}` : String(e),
    };
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

const seedOf = (key: string) => (SEED ^ createHash("sha256").update(key).digest().readUInt32BE(0)) | 0;

describe("route fuzz", () => {
  it("finds every route file, and each exports only methods the fuzzer can call", () => {
    expect(ROUTES.length).toBeGreaterThan(20);
    const problems = MODULES.flatMap(({ r, mod }) => {
      const { methods, unknown } = classifyExports(mod);
      return [
        ...(methods.length ? [] : [`${r.route}: exports no method`]),
        ...unknown.map((u) => `${r.route}: exports ${u}, which the fuzzer does not know how to call`),
      ];
    });
    expect(problems).toEqual([]);
  });

  for (const { r, mod } of MODULES) {
    const { methods } = classifyExports(mod);
    it(`${r.route} (${methods.join(", ")}): no 5xx, no throw`, async () => {
      await resetFixtures();
      const before = failures.length;
      for (const method of methods) {
        const handler = mod[method] as (req: Request, ctx: { params: Promise<unknown> }) => Promise<Response>;
        const key = `${method} ${r.route}`;
        const s = { calls: 0, statuses: new Map<number, number>(), bodies: new Map<string, number>() };
        stats.set(key, s);
        await fc.assert(
          fc.asyncProperty(caseArb(r, method), async (c) => {
            const out = await callOnce(handler, r, c);
            s.calls++;
            s.statuses.set(out.status, (s.statuses.get(out.status) ?? 0) + 1);
            const allowed = ALLOWED_5XX.some((a) => a.route === r.route && a.status === out.status);
            if (out.error || (out.status >= 500 && !allowed))
              failures.push(`${key} → ${out.status || "threw"} ${out.error ?? ""}\n    ${describeCase(c)}`);
            return true; // every failure is collected (not shrunk), so one run lists them all
          }),
          { seed: seedOf(key), numRuns: RUNS },
        );
      }
      const mine = failures.slice(before);
      expect(mine.slice(0, 8), `${mine.length} calls answered 5xx or threw (FUZZ_SEED=${SEED})`).toEqual([]);
      expect(unhandled).toEqual([]);
    }, 180_000);
  }
});
