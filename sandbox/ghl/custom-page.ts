import type { ServerResponse } from "node:http";
import { escapeHtml as h, sendHtml } from "./http-util";
import { page } from "./marketplace-page";
import type { Sim } from "./sim";
import type { SsoUser } from "./sso-crypto";

// Picks the user the frame speaks for: ?userId= one of the sandbox users, ?role= / ?type= override.
export function pickUser(sim: Sim, ctx: { locationId?: string; companyId: string }, q: URLSearchParams): SsoUser {
  const s = sim.state;
  const chosen =
    (q.get("userId") && s.users.get(q.get("userId")!)) ||
    (ctx.locationId ? s.adminOf(ctx.locationId) : undefined) ||
    s.agencyAdminOf(ctx.companyId);
  const role =
    q.get("role") === "user" || q.get("role") === "admin"
      ? (q.get("role") as "admin" | "user")
      : (chosen?.role ?? "admin");
  const type =
    q.get("type") === "agency" || q.get("type") === "location"
      ? (q.get("type") as "agency" | "location")
      : (chosen?.type ?? "location");
  return {
    userId: q.get("userId") ?? chosen?.id ?? "sandboxUser000000001",
    companyId: ctx.companyId,
    role,
    type,
    userName: chosen?.name ?? "Sandbox User",
    email: chosen?.email ?? "user@sandbox.example",
    ...(ctx.locationId ? { activeLocation: ctx.locationId } : {}),
  };
}

// GHL's frame around a Custom Page: the app's panel in an iframe, answering REQUEST_USER_DATA with a
// freshly encrypted payload each time (a new salt per answer, as CryptoJS does).
export function customPage(
  sim: Sim,
  res: ServerResponse,
  ctx: { locationId?: string; companyId: string },
  q: URLSearchParams,
): void {
  const s = sim.state;
  const loc = ctx.locationId ? s.locations.get(ctx.locationId) : undefined;
  if (ctx.locationId && !loc) return sendHtml(res, 404, page("Not found", "<p>Unknown location</p>"));
  if (!s.companies.has(ctx.companyId)) return sendHtml(res, 404, page("Not found", "<p>Unknown company</p>"));
  const user = pickUser(sim, ctx, q);
  const here = ctx.locationId ? `/location/${ctx.locationId}/custom-page` : `/company/${ctx.companyId}/custom-page`;
  const people = [...s.users.values()].filter(
    (u) =>
      u.companyId === ctx.companyId &&
      (u.type === "agency" || (!!ctx.locationId && u.locationIds.includes(ctx.locationId))),
  );
  const switcher = people
    .map(
      (u) =>
        `<a href="${here}?userId=${encodeURIComponent(u.id)}"${u.id === user.userId ? ' class="on"' : ""}>${h(u.name)} (${u.type}/${u.role})</a>`,
    )
    .join(" ");
  const panel = q.get("panel") ?? sim.cfg.panelUrl;
  sendHtml(
    res,
    200,
    `<!doctype html><html><head><meta charset="utf-8"><title>${h(loc?.name ?? "Agency")} · GHL sandbox</title><style>
body{margin:0;font-family:system-ui,sans-serif;display:flex;flex-direction:column;height:100vh}
header{background:#101828;color:#fff;padding:8px 16px;font-size:14px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#98a2b3;text-decoration:none}header a.on{color:#fff;font-weight:600}iframe{flex:1;border:0;width:100%}
#log{font:12px monospace;color:#98a2b3}</style></head><body>
<header><b>${h(loc?.name ?? s.companies.get(ctx.companyId)!.name)}</b><span>${switcher}</span><span id="log">waiting for REQUEST_USER_DATA</span></header>
<iframe id="app" src="${h(panel)}" allow="clipboard-write"></iframe>
<script>
const user = ${JSON.stringify(user).replace(/</g, "\\u003c")};
const frame = document.getElementById("app");
let n = 0;
window.addEventListener("message", async (ev) => {
  if (ev.source !== frame.contentWindow || !ev.data || ev.data.message !== "REQUEST_USER_DATA") return;
  const r = await fetch("/__sandbox/sso", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(user) });
  const { payload } = await r.json();
  ev.source.postMessage({ message: "REQUEST_USER_DATA_RESPONSE", payload }, "*");
  document.getElementById("log").textContent = "answered REQUEST_USER_DATA x" + (++n) + " as " + user.userName;
});
</script></body></html>`,
  );
}
