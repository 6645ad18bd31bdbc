import "./helpers/next-als"; // first: Next's request stores must see AsyncLocalStorage
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as authGet, POST as authPost } from "@/app/api/auth/[...nextauth]/route";
import { POST as inboundTest } from "@/app/api/ghl/inbound-test/route";
import { GET as getInstance } from "@/app/api/instances/[id]/route";
import { GET as listInstances } from "@/app/api/instances/route";
import { DELETE as revokeKey } from "@/app/api/panel/api-keys/[id]/route";
import { POST as createKey } from "@/app/api/panel/api-keys/route";
import { GET as messageLog } from "@/app/api/panel/messages/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { PANEL_SESSION_COOKIE } from "@/lib/auth/auth-options";
import { db } from "@/lib/db";
import { redis } from "@/lib/redis";
import { ssoPayload } from "@/sandbox/ghl/sso-crypto";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { callInNextScope } from "./helpers/next-request-scope";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";

// What the route fuzz (route-fuzz.test.ts) found answering 500 to bad input, one case each, so a
// regression is named here rather than only as a counterexample of the fuzz.
const APP = "http://127.0.0.1:3999";
let restore: () => Promise<void>;
let cookie: string;
let key: string;

beforeAll(async () => {
  restore = useAppEnv({ databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)), redisDb: 3 });
  await db().company.create({ data: { id: "co1", name: "Agency" } });
  await db().location.create({ data: { id: "locA", name: "A", companyId: "co1" } });
  const admin = identity({ locationId: "locA", companyId: "co1" });
  cookie = await panelCookie(admin);
  await ghlSays(redis(), admin); // key minting and revoking are admin-only
  key = (await createApiKey(db(), "locA", "findings")).key;
});
afterAll(async () => restore());

const panel = (init: RequestInit & { json?: unknown } = {}) => ({
  ...init,
  headers: { cookie, origin: APP, "content-type": "application/json", ...(init.headers ?? {}) },
});
const codeOf = async (r: Response) => ({
  status: r.status,
  code: ((await r.json()) as { error?: { code?: string } }).error?.code,
});

describe("values Postgres cannot store are a 400, not a 500", () => {
  it("a NUL in a path parameter, a body or a query string; a date outside Postgres' range", async () => {
    expect(await codeOf(await revokeKey(req("/x", panel({ method: "DELETE" })), params({ id: "a\u0000b" })))).toEqual({
      status: 400,
      code: "bad_request",
    });
    expect(
      await codeOf(await createKey(req("/x", panel({ method: "POST", json: { label: "n8n\u0000" } })), params({}))),
    ).toEqual({ status: 400, code: "bad_request" });
    expect(await codeOf(await messageLog(req("/x?instanceId=%00", panel()), params({})))).toEqual({
      status: 400,
      code: "bad_request",
    });
    expect(await codeOf(await messageLog(req("/x?before=-271821-04-20T00:00:00Z", panel()), params({})))).toEqual({
      status: 400,
      code: "bad_request",
    });
    expect(await db().apiKey.count({ where: { label: { contains: "n8n" } } })).toBe(0);
  });
});

describe("a session cookie with a malformed %-escape", () => {
  it("is no session (401), not a URIError (500)", async () => {
    for (const value of ["%E0%A4%A", "%", "abc%zz"]) {
      const r = await listInstances(req("/x", { headers: { cookie: `${PANEL_SESSION_COOKIE}=${value}` } }), params({}));
      expect(await codeOf(r), value).toEqual({ status: 401, code: "unauthorized" });
    }
    expect(
      (await getInstance(req("/x", { headers: { cookie: `${PANEL_SESSION_COOKIE}=%E0%A4%A` } }), params({ id: "x" })))
        .status,
    ).toBe(401);
  });
});

describe("POST /api/ghl/inbound-test", () => {
  it("a body nested deeper than JSON.stringify can walk is a 400", async () => {
    const deep = '{"a":'.repeat(200_000) + "1" + "}".repeat(200_000);
    const r = await inboundTest(
      req("/x", { method: "POST", body: deep, headers: { "x-api-key": key, "content-type": "application/json" } }),
      params({}),
    );
    expect(await codeOf(r)).toEqual({ status: 400, code: "bad_request" });
  });
});

describe("next-auth's route: bad input is a 4xx", () => {
  const auth = (method: "GET" | "POST", nextauth: string[], init: RequestInit = {}) =>
    callInNextScope(
      method === "GET" ? authGet : authPost,
      new Request(new URL(`/api/auth/${nextauth.join("/")}${(init as { search?: string }).search ?? ""}`, APP), {
        method,
        ...init,
      }),
      { nextauth },
      "/api/auth/[...nextauth]",
    );

  it("a callbackUrl that is not a URL (query, cookie or body), a malformed JSON body, an action it does not serve", async () => {
    expect((await auth("GET", ["signin"], { search: "?callbackUrl=%F1%AC%B6%B3" } as RequestInit)).status).toBe(400);
    expect(
      (
        await auth("POST", ["signout"], {
          search: "?callbackUrl=javascript:alert(1)",
          headers: { origin: APP },
        } as RequestInit)
      ).status,
    ).toBe(400);
    expect((await auth("GET", ["session"], { headers: { cookie: "gw.callback-url=not%20a%20url" } })).status).toBe(400);
    const json = { origin: APP, "content-type": "application/json" };
    expect(
      (await auth("POST", ["session"], { headers: json, body: JSON.stringify({ callbackUrl: "::" }) })).status,
    ).toBe(400);
    expect((await auth("POST", ["session"], { headers: json, body: JSON.stringify({ callbackUrl: 7 }) })).status).toBe(
      400,
    );
    expect((await auth("POST", ["session"], { headers: json, body: "{" })).status).toBe(400);
    expect((await auth("GET", ["callback", "ghl-sso"])).status).toBe(404);
    expect((await auth("GET", ["x".repeat(300)])).status).toBe(404);
  });

  it("still serves what the panel uses: csrf, session, and the ghl-sso sign-in", async () => {
    const csrf = await auth("GET", ["csrf"]);
    expect(csrf.status).toBe(200);
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    const csrfCookie = csrf.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    expect((await auth("GET", ["session"])).status).toBe(200);
    const payload = ssoPayload(
      {
        userId: "u1",
        companyId: "co1",
        role: "admin",
        type: "location",
        userName: "Ana",
        email: "a@x.io",
        activeLocation: "locA",
      } as never,
      "test-sso-shared-secret",
    );
    const signIn = await auth("POST", ["callback", "ghl-sso"], {
      headers: { origin: APP, cookie: csrfCookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, payload, callbackUrl: "/panel", json: "true" }).toString(),
    });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.getSetCookie().some((c) => c.startsWith(`${PANEL_SESSION_COOKIE}=`))).toBe(true);
  });
});
