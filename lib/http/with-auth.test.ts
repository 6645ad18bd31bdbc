import { describe, expect, it } from "vitest";
import { AppError, forbidden, unauthorized } from "../errors";
import type { ApiKeyCaller, Credential, Credentials, Need, PanelCaller } from "./credentials";
import { authFamily } from "./with-auth";

// withAuth with stand-in credentials: which credential decides, the 401 without any, the role
// asked of the credential that decided, the rate limit, and what the handler receives.
type Seen = { authenticated: string[]; needs: Need[]; limited: string[] };

function fakes(o: { keyLimit?: Response; panelRefuses?: (n: Need) => AppError | undefined } = {}) {
  const seen: Seen = { authenticated: [], needs: [], limited: [] };
  const apiKey: Credential<ApiKeyCaller> = {
    presented: (req) => req.headers.has("x-api-key"),
    async authenticate(req) {
      seen.authenticated.push("api-key");
      if (req.headers.get("x-api-key") !== "good") throw unauthorized("bad key");
      return { via: "api-key", locationId: "locKey", keyId: "k1", actor: "api-key:k1" };
    },
    async authorize(_c, n) {
      seen.needs.push(n);
    },
    async limit() {
      seen.limited.push("api-key");
      return o.keyLimit ?? null;
    },
    hint: "send a key",
    alternative: "send a key",
  };
  const panel: Credential<PanelCaller> = {
    presented: (req) => req.headers.has("cookie"),
    async authenticate(req, hint) {
      seen.authenticated.push("panel-session");
      if (req.headers.get("cookie") !== "good") throw unauthorized(hint);
      const identity = {
        userId: "u1",
        companyId: "c1",
        role: "user",
        userName: null,
        email: null,
        locationId: "locPanel",
        agency: false,
        authTime: 0,
        checkedAt: 0,
      };
      return { via: "panel-session", locationId: "locPanel", identity, actor: "user:u1" };
    },
    async authorize(_c, n) {
      seen.needs.push(n);
      const refused = o.panelRefuses?.(n);
      if (refused) throw refused;
    },
    async limit() {
      seen.limited.push("panel-session");
      return null;
    },
    hint: "open the panel",
    alternative: "open the panel",
  };
  const credentials: Credentials = { "api-key": apiKey, "panel-session": panel };
  return { withAuth: authFamily(credentials), seen };
}

const call = <P>(
  h: (req: Request, ctx: { params: Promise<P> }) => Promise<Response>,
  headers: Record<string, string>,
  params = {} as P,
) => h(new Request("http://x/api/y", { headers }), { params: Promise.resolve(params) });
const echo = async (_req: Request, auth: { via: string; locationId: string; actor: string; requestId: string }) =>
  Response.json({ via: auth.via, locationId: auth.locationId, actor: auth.actor, requestId: auth.requestId });
const errorOf = async (r: Response) => ({
  status: r.status,
  ...((await r.json()) as { error: { code: string; message: string } }).error,
});

describe("withAuth: which credential decides", () => {
  it("the first one in `via` that the request carries decides, whatever else it carries", async () => {
    const { withAuth, seen } = fakes();
    const h = withAuth({ via: ["api-key", "panel-session"] }, echo);
    expect(await (await call(h, { "x-api-key": "good", cookie: "good" })).json()).toMatchObject({
      via: "api-key",
      locationId: "locKey",
      actor: "api-key:k1",
    });
    expect(await (await call(h, { cookie: "good" })).json()).toMatchObject({
      via: "panel-session",
      locationId: "locPanel",
      actor: "user:u1",
    });
    expect(seen.authenticated).toEqual(["api-key", "panel-session"]);
  });

  it("a bad credential is refused, not passed over for the next one", async () => {
    const { withAuth, seen } = fakes();
    const r = await call(withAuth({ via: ["api-key", "panel-session"] }, echo), {
      "x-api-key": "forged",
      cookie: "good",
    });
    expect(await errorOf(r)).toMatchObject({ status: 401, code: "unauthorized", message: "bad key" });
    expect(seen.authenticated).toEqual(["api-key"]);
  });

  it("the order of `via` is the order of precedence", async () => {
    const { withAuth } = fakes();
    const h = withAuth({ via: ["panel-session", "api-key"] }, echo);
    expect(await (await call(h, { "x-api-key": "good", cookie: "good" })).json()).toMatchObject({
      via: "panel-session",
    });
  });

  it("a credential the route does not list is ignored: no credential is a 401 saying what to send", async () => {
    const { withAuth, seen } = fakes();
    expect(await errorOf(await call(withAuth({ via: ["api-key"] }, echo), { cookie: "good" }))).toMatchObject({
      status: 401,
      code: "unauthorized",
      message: "send a key",
    });
    expect(await errorOf(await call(withAuth({ via: ["panel-session"] }, echo), {}))).toMatchObject({
      status: 401,
      message: "open the panel",
    });
    expect(await errorOf(await call(withAuth({ via: ["api-key", "panel-session"] }, echo), {}))).toMatchObject({
      status: 401,
      message: "send a key or open the panel",
    });
    expect(seen.authenticated).toEqual([]);
  });

  it("a refused panel session carries the route's hint, and the handler never runs", async () => {
    const { withAuth } = fakes();
    let ran = false;
    const r = await call(
      withAuth({ via: ["api-key", "panel-session"] }, async () => ((ran = true), new Response())),
      { cookie: "expired" },
    );
    expect(await errorOf(r)).toMatchObject({ status: 401, message: "send a key or open the panel" });
    expect(ran).toBe(false);
  });

  it("refuses to build a route without credentials, or with a handshake rule for API keys", () => {
    const { withAuth } = fakes();
    expect(() => withAuth({ via: [] }, echo)).toThrow(/at least one/);
    expect(() => withAuth({ via: ["api-key", "panel-session"], recentHandshake: true }, echo)).toThrow(
      /panel sessions only/,
    );
  });
});

describe("withAuth: role, handshake and rate limit", () => {
  it("asks the deciding credential for the role (default user) and the handshake rule", async () => {
    const { withAuth, seen } = fakes();
    await call(withAuth({ via: ["panel-session"] }, echo), { cookie: "good" });
    await call(withAuth({ via: ["panel-session"], role: "admin", recentHandshake: true }, echo), { cookie: "good" });
    await call(withAuth({ via: ["api-key", "panel-session"], role: "admin" }, echo), { "x-api-key": "good" });
    expect(seen.needs).toEqual([
      { role: "user", recentHandshake: false },
      { role: "admin", recentHandshake: true },
      { role: "admin", recentHandshake: false },
    ]);
  });

  it("a role refused is answered with the credential's refusal, before the handler runs", async () => {
    const { withAuth } = fakes({
      panelRefuses: (n) => (n.role === "admin" ? new AppError("admin_required", "admins only") : undefined),
    });
    let ran = 0;
    const h = withAuth({ via: ["api-key", "panel-session"], role: "admin" }, async () => (ran++, new Response("ok")));
    expect(await errorOf(await call(h, { cookie: "good" }))).toMatchObject({ status: 403, code: "admin_required" });
    expect(ran).toBe(0);
    expect((await call(h, { "x-api-key": "good" })).status).toBe(200); // the fake key passes, as a real one does
    expect(ran).toBe(1);
  });

  it("a role can depend on the path's params", async () => {
    const { withAuth, seen } = fakes({ panelRefuses: (n) => (n.role === "admin" ? forbidden() : undefined) });
    const h = withAuth(
      { via: ["panel-session"], role: (p: { action: string }) => (p.action === "logout" ? "admin" : "user") },
      async (_req, _auth, p: { action: string }) => new Response(p.action),
    );
    expect(await (await call(h, { cookie: "good" }, { action: "start" })).text()).toBe("start");
    expect((await call(h, { cookie: "good" }, { action: "logout" })).status).toBe(403);
    expect(seen.needs.map((n) => n.role)).toEqual(["user", "admin"]);
  });

  it("answers the credential's 429 instead of running the handler", async () => {
    const tooMany = () =>
      Response.json(
        { error: { code: "rate_limited", message: "slow down" } },
        { status: 429, headers: { "retry-after": "7" } },
      );
    const { withAuth, seen } = fakes({ keyLimit: tooMany() });
    let ran = 0;
    const r = await call(
      withAuth({ via: ["api-key"] }, async () => (ran++, new Response())),
      { "x-api-key": "good" },
    );
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("7");
    expect(r.headers.get("x-request-id")).toBeTruthy();
    expect(ran).toBe(0);
    expect(seen.limited).toEqual(["api-key"]);
  });

  it("hands the handler the request id it answers with", async () => {
    const { withAuth } = fakes();
    const r = await call(withAuth({ via: ["api-key"] }, echo), { "x-api-key": "good", "x-request-id": "req-12345678" });
    expect(r.headers.get("x-request-id")).toBe("req-12345678");
    expect(await r.json()).toMatchObject({ requestId: "req-12345678" });
  });
});
