import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ApiRoute, handleApi } from "./api-pipeline";
import { type GhlSimulatorConfig, type GhlSimulatorOptions, resolveConfig } from "./config";
import { contactsRoutes } from "./contacts-routes";
import { dispatch } from "./control-kit";
import { setupRoutes } from "./control-setup";
import { trafficRoutes } from "./control-traffic";
import { usersControlRoutes } from "./control-users";
import { conversationsPage } from "./conversations-page";
import { conversationsRoutes } from "./conversations-routes";
import { customPage } from "./custom-page";
import { seed } from "./directory";
import { sendHtml, sendJson } from "./http-util";
import { locationsRoutes } from "./locations-routes";
import { chooseLocation, page } from "./marketplace-page";
import { oauthRoutes } from "./oauth-routes";
import { loadOpenApi } from "./openapi-schemas";
import type { Sim } from "./sim";
import { SimState } from "./state";
import { usersRoutes } from "./users-routes";
import { WebhookSender } from "./webhooks";
import { handleTriggerExecute, workflowControlRoutes } from "./workflows";

export type { GhlSimulatorConfig, GhlSimulatorOptions } from "./config";

export interface GhlSimulator {
  url: string;
  config: GhlSimulatorConfig;
  close(): Promise<void>;
}

const API_ROUTES: Record<string, ApiRoute> = {
  ...oauthRoutes,
  ...contactsRoutes,
  ...conversationsRoutes,
  ...usersRoutes,
  ...locationsRoutes,
};
const CONTROL_ROUTES = [...setupRoutes, ...usersControlRoutes, ...trafficRoutes, ...workflowControlRoutes];

export async function startGhlSimulator(opts: GhlSimulatorOptions = {}): Promise<GhlSimulator> {
  const cfg = resolveConfig(opts, 4010);
  const seedByDefault = cfg.seed;
  const sim: Sim = {
    cfg,
    state: new SimState(),
    openapi: loadOpenApi(cfg.openapiDir),
    webhooks: undefined as unknown as WebhookSender,
    reset(withSeed) {
      sim.webhooks.close();
      sim.state = new SimState();
      if (withSeed ?? seedByDefault) seed(sim.state);
    },
  };
  sim.webhooks = new WebhookSender(cfg, () => sim.state);
  if (cfg.seed) seed(sim.state);

  const server = createServer((req, res) => {
    route(sim, req, res).catch((e: unknown) => {
      // Never console.error: tests fail on it. A 500 in GHL's shape is what a broken GHL would give.
      if (!res.headersSent)
        sendJson(res, 500, {
          statusCode: 500,
          message: e instanceof Error ? e.message : String(e),
          error: "Internal Server Error",
        });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  cfg.port = (server.address() as AddressInfo).port;
  cfg.url = `http://${cfg.host}:${cfg.port}`;
  return {
    url: cfg.url,
    config: cfg,
    close: () => {
      sim.webhooks.close();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function route(sim: Sim, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", sim.cfg.url);
  const p = url.pathname;
  if (p.startsWith("/__sandbox/")) {
    if (await dispatch(sim, CONTROL_ROUTES, req, res, url)) return;
    return sendJson(res, 404, { error: { code: "not_found", message: `no control route ${req.method} ${p}` } });
  }
  if (p === "/v2/oauth/chooselocation" || p === "/oauth/chooselocation") return chooseLocation(sim, req, res, url);
  if (await handleTriggerExecute(sim, req, res, url)) return;
  if (await handleApi(sim, req, res, url, API_ROUTES)) return;
  let m = /^\/location\/([^/]+)\/custom-page\/?$/.exec(p);
  if (m && req.method === "GET") {
    const loc = sim.state.locations.get(decodeURIComponent(m[1]));
    return customPage(
      sim,
      res,
      { locationId: decodeURIComponent(m[1]), companyId: loc?.companyId ?? "" },
      url.searchParams,
    );
  }
  m = /^\/company\/([^/]+)\/custom-page\/?$/.exec(p);
  if (m && req.method === "GET") return customPage(sim, res, { companyId: decodeURIComponent(m[1]) }, url.searchParams);
  m = /^\/location\/([^/]+)\/conversations\/?$/.exec(p);
  if (m && req.method === "GET") return conversationsPage(sim, res, decodeURIComponent(m[1]));
  if (p === "/" && req.method === "GET") return sendHtml(res, 200, home(sim));
  sendJson(res, 404, { statusCode: 404, message: `Cannot ${req.method} ${p}`, error: "Not Found" });
}

function home(sim: Sim): string {
  const authorize = new URL("/v2/oauth/chooselocation", sim.cfg.url);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: sim.cfg.clientId,
    redirect_uri: `${sim.cfg.appBaseUrl}/api/oauth/callback`,
    scope: "conversations.readonly",
  }).toString();
  const rows = [...sim.state.locations.values()]
    .map(
      (l) =>
        `<li>${l.name} <small>${l.id}${sim.state.locationInstalls.has(l.id) ? " · installed" : ""}</small> —
      <a href="/location/${l.id}/custom-page">app page</a> · <a href="/location/${l.id}/conversations">conversations</a></li>`,
    )
    .join("");
  return page(
    "GHL sandbox",
    `<p>Install the app from the app itself (<code>${sim.cfg.appBaseUrl}/api/oauth/install</code>),
    or open the <a href="${authorize}">choose-location page</a> directly.</p><section><ul>${rows || "<li>No locations</li>"}</ul></section>`,
  );
}
