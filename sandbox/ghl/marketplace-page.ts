import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { escapeHtml as h, parseForm, readBody, redirect, sendHtml } from "./http-util";
import { installCompany, installLocation } from "./installs";
import type { Sim } from "./sim";

const CODE_TTL_MS = 10 * 60 * 1000;

// GET/POST /v2/oauth/chooselocation: GHL's consent page, reduced to "pick a location (or a whole agency), Install".
export async function chooseLocation(sim: Sim, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method === "POST") return submit(sim, res, parseForm(await readBody(req)));
  const q = Object.fromEntries(url.searchParams);
  const problem =
    checkClient(sim, q.client_id, q.redirect_uri) ??
    (q.response_type !== "code" ? "response_type must be code" : undefined);
  if (problem) return sendHtml(res, 400, page("Cannot install", `<p class="err">${h(problem)}</p>`));
  const hidden = ["client_id", "redirect_uri", "scope", "state"]
    .map((k) => `<input type="hidden" name="${k}" value="${h(q[k] ?? "")}">`)
    .join("");
  const scopes = (q.scope ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => `<code>${h(s)}</code>`)
    .join(" ");
  const blocks = [...sim.state.companies.values()]
    .map((c) => {
      const rows = sim.state
        .locationsOf(c.id)
        .map(
          (l) => `
      <li><span><b>${h(l.name)}</b><small>${h(l.id)}${sim.state.locationInstalls.has(l.id) ? " · installed" : ""}</small></span>
        <form method="post">${hidden}<input type="hidden" name="locationId" value="${h(l.id)}">
        <button data-location-id="${h(l.id)}">Install</button></form></li>`,
        )
        .join("");
      return `<section><h2>${h(c.name)} <small>${h(c.id)}</small></h2><ul>${rows || "<li>No locations</li>"}</ul>
      <form method="post" class="bulk">${hidden}<input type="hidden" name="companyId" value="${h(c.id)}">
      <label><input type="checkbox" name="installToFutureLocations" value="true" checked> also future locations</label>
      <button data-company-id="${h(c.id)}">Install to all locations of ${h(c.name)}</button></form></section>`;
    })
    .join("");
  sendHtml(
    res,
    200,
    page(
      "Install app",
      `<p>The app <code>${h(sim.cfg.appId)}</code> asks for: ${scopes || "(no scopes)"}</p>${blocks || "<p>No companies yet.</p>"}`,
    ),
  );
}

function submit(sim: Sim, res: ServerResponse, f: Record<string, string | string[]>): void {
  const one = (k: string) => (Array.isArray(f[k]) ? (f[k] as string[])[0] : (f[k] as string | undefined));
  const problem = checkClient(sim, one("client_id"), one("redirect_uri"));
  if (problem) return sendHtml(res, 400, page("Cannot install", `<p class="err">${h(problem)}</p>`));
  const scopes = (one("scope") ?? "").split(/\s+/).filter(Boolean);
  const locationId = one("locationId");
  const companyId = one("companyId");
  const code = randomBytes(20).toString("hex");
  const base = {
    code,
    clientId: one("client_id")!,
    redirectUri: one("redirect_uri")!,
    scopes,
    expiresAt: Date.now() + CODE_TTL_MS,
  };
  if (locationId) {
    const loc = sim.state.locations.get(locationId);
    if (!loc) return sendHtml(res, 400, page("Cannot install", `<p class="err">Unknown location</p>`));
    const userId = sim.state.adminOf(loc.id)?.id ?? sim.state.agencyAdminOf(loc.companyId)?.id ?? "";
    installLocation(sim, loc.id, { via: "location", userId, scopes, webhook: true });
    sim.state.codes.set(code, { ...base, userId, userType: "Location", companyId: loc.companyId, locationId: loc.id });
  } else if (companyId && sim.state.companies.has(companyId)) {
    const userId = sim.state.agencyAdminOf(companyId)?.id ?? "";
    const approved = f.approvedLocations ? ([] as string[]).concat(f.approvedLocations) : undefined;
    installCompany(sim, companyId, {
      userId,
      scopes,
      approvedLocations: approved,
      installToFutureLocations: one("installToFutureLocations") === "true",
      webhook: true,
    });
    sim.state.codes.set(code, { ...base, userId, userType: "Company", companyId });
  } else {
    return sendHtml(res, 400, page("Cannot install", `<p class="err">Pick a location or a company</p>`));
  }
  const target = new URL(one("redirect_uri")!);
  target.searchParams.set("code", code);
  if (one("state")) target.searchParams.set("state", one("state")!);
  redirect(res, target.toString());
}

function checkClient(sim: Sim, clientId?: string, redirectUri?: string): string | undefined {
  if (clientId !== sim.cfg.clientId) return `Unknown client_id ${clientId ?? ""}`;
  if (!redirectUri || !/^https?:\/\//.test(redirectUri)) return "redirect_uri is missing or not an absolute URL";
  return undefined;
}

export function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${h(title)} · GHL sandbox</title><style>
body{font-family:system-ui,sans-serif;background:#f4f6fa;margin:0;color:#1d2939}
header{background:#155eef;color:#fff;padding:12px 24px;font-weight:600}main{max-width:760px;margin:24px auto;padding:0 16px}
section{background:#fff;border-radius:8px;padding:8px 20px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0002}
ul{list-style:none;padding:0}li{display:flex;justify-content:space-between;align-items:center;padding:8px 0;border-bottom:1px solid #eee}
small{color:#667085;margin-left:8px;font-weight:400}button{background:#155eef;color:#fff;border:0;border-radius:6px;padding:6px 14px;cursor:pointer}
.bulk{display:flex;gap:12px;align-items:center;margin-top:12px}.err{color:#b42318}code{background:#eef;padding:1px 4px;border-radius:4px}
</style></head><body><header>HighLevel Marketplace · sandbox</header><main><h1>${h(title)}</h1>${body}</main></body></html>`;
}
