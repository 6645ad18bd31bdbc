// Shared by the simulator's tests (not a test file itself): a fake app that records what GHL
// sends it, and helpers that drive the simulator the way the app and a user would.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { loadOpenApi } from "./openapi-schemas";
import { type GhlSimulator, type GhlSimulatorOptions, startGhlSimulator } from "./server";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  json: any;
}

export async function startFakeApp() {
  const received: Received[] = [];
  const statuses: number[] = [];
  /** answer the first request matching `when` with `status` (once), whatever else arrives before it */
  const answers: { when: (r: Received) => boolean; status: number }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      received.push({
        path: req.url ?? "",
        headers: req.headers,
        raw,
        json: raw.length ? JSON.parse(raw.toString()) : undefined,
      });
      const r = received[received.length - 1];
      const rule = answers.findIndex((x) => x.when(r));
      const status = rule >= 0 ? answers.splice(rule, 1)[0].status : (statuses.shift() ?? 200);
      res.writeHead(status, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    statuses,
    answerOnce(when: (r: Received) => boolean, status: number) {
      answers.push({ when, status });
    },
    async waitFor(pred: (r: Received) => boolean, ms = 3000): Promise<Received> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const hit = received.find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("the fake app did not receive the expected request");
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export const ALL_SCOPES = [
  "contacts.readonly",
  "contacts.write",
  "conversations.readonly",
  "conversations.write",
  "conversations/message.readonly",
  "conversations/message.write",
  "oauth.readonly",
  "oauth.write",
].join(" ");

export async function startSim(o: GhlSimulatorOptions = {}): Promise<GhlSimulator> {
  return startGhlSimulator({ port: 0, seed: true, ...o });
}

// What a user does on the Marketplace page followed by what the app's callback does.
export async function install(
  sim: GhlSimulator,
  target: { locationId: string } | { companyId: string },
  scope = ALL_SCOPES,
) {
  const form = new URLSearchParams({
    client_id: sim.config.clientId,
    redirect_uri: "http://127.0.0.1:9/callback",
    scope,
    state: "st-1",
    ...target,
    // The page's checkbox is ticked by default.
    ...("companyId" in target ? { installToFutureLocations: "true" } : {}),
  });
  const r = await fetch(`${sim.url}/v2/oauth/chooselocation`, {
    method: "POST",
    body: form,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    redirect: "manual",
  });
  const loc = new URL(r.headers.get("location") ?? "");
  const code = loc.searchParams.get("code") ?? "";
  return {
    status: r.status,
    state: loc.searchParams.get("state"),
    code,
    tokens: await exchange(sim, { grant_type: "authorization_code", code }),
  };
}

export async function exchange(sim: GhlSimulator, fields: Record<string, string>) {
  const r = await fetch(`${sim.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      client_id: sim.config.clientId,
      client_secret: sim.config.clientSecret,
      user_type: "Location",
      ...fields,
    }),
  });
  return { status: r.status, body: (await r.json()) as any };
}

export async function api(
  sim: GhlSimulator,
  method: string,
  path: string,
  o: { token?: string; version?: string | null; json?: unknown; form?: FormData | URLSearchParams } = {},
) {
  const headers: Record<string, string> = { accept: "application/json" };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const version =
    o.version === undefined ? (path.startsWith("/conversations") ? "2021-04-15" : "2021-07-28") : o.version;
  if (version) headers.version = version;
  if (o.json !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(`${sim.url}${path}`, {
    method,
    headers,
    body: o.json !== undefined ? JSON.stringify(o.json) : o.form,
  });
  return { status: r.status, headers: r.headers, body: (await r.json()) as any };
}

export async function control(sim: GhlSimulator, method: string, path: string, json?: unknown) {
  const r = await fetch(`${sim.url}/__sandbox${path}`, {
    method,
    headers: json === undefined ? {} : { "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: r.status, body: (await r.json()) as any };
}

// The contract test: every call the simulator recorded, request and response, through the OpenAPI files.
export async function contractProblems(sim: GhlSimulator): Promise<string[]> {
  const openapi = loadOpenApi(sim.config.openapiDir);
  const { body } = await control(sim, "GET", "/calls");
  const problems: string[] = [];
  for (const c of body.calls as any[]) {
    const where = `${c.method} ${c.path} → ${c.status}`;
    const found = openapi.find(c.method, c.path);
    if (!found) {
      if (c.status !== 404) problems.push(`${where}: no such operation in the OpenAPI files`);
      problems.push(
        ...openapi.validateResponse(undefined, c.status, c.responseBody).map((m) => `${where} response: ${m}`),
      );
      continue;
    }
    // A call GHL acknowledged but dropped was not accepted: only its answer has to match.
    if (c.status < 300 && !c.dropped) {
      const op = found.op;
      const q = openapi.validateParams(op, "query", c.query);
      const h = op.params.some((p) => p.in === "header")
        ? openapi.validateParams(op, "header", { version: c.headers.version })
        : [];
      const b = op.body ? openapi.validateBody(op, c.requestBody ?? {}) : [];
      problems.push(...[...q, ...h, ...b].map((m) => `${where} request: ${m}`));
    }
    problems.push(
      ...openapi.validateResponse(found.op, c.status, c.responseBody).map((m) => `${where} response: ${m}`),
    );
  }
  return problems;
}
