import type { ServerResponse } from "node:http";
import { escapeHtml as h, sendHtml } from "./http-util";
import { page } from "./marketplace-page";
import type { Sim } from "./sim";

// A bare-bones Conversations tab: write to a phone (fires the Delivery URL), watch statuses and replies.
export function conversationsPage(sim: Sim, res: ServerResponse, locationId: string): void {
  const loc = sim.state.locations.get(locationId);
  if (!loc) return sendHtml(res, 404, page("Not found", "<p>Unknown location</p>"));
  const api = `/__sandbox/locations/${encodeURIComponent(locationId)}`;
  sendHtml(
    res,
    200,
    `<!doctype html><html><head><meta charset="utf-8"><title>Conversations · ${h(loc.name)}</title><style>
body{margin:0;font-family:system-ui,sans-serif;display:grid;grid-template-columns:280px 1fr;height:100vh;color:#1d2939}
aside{border-right:1px solid #ddd;overflow:auto;background:#f9fafb}aside div{padding:10px 14px;border-bottom:1px solid #eee;cursor:pointer}
aside div.on{background:#e0eaff}main{display:flex;flex-direction:column}#thread{flex:1;overflow:auto;padding:16px;background:#fff}
.m{max-width:60%;margin:6px 0;padding:8px 12px;border-radius:10px;white-space:pre-wrap}.outbound{margin-left:auto;background:#155eef;color:#fff}
.inbound{background:#f2f4f7}.meta{font-size:11px;opacity:.75}form{display:flex;gap:8px;padding:12px;border-top:1px solid #ddd}
input,textarea{font:inherit;padding:6px}textarea{flex:1}button{background:#155eef;color:#fff;border:0;border-radius:6px;padding:6px 14px}
</style></head><body><aside id="list"></aside><main><div id="thread"><p>Pick a conversation or write to a new phone.</p></div>
<form id="send"><input name="phone" id="phone" placeholder="+15551234567" required size="14"><input name="contactName" placeholder="name (optional)" size="12">
<textarea name="message" rows="2" placeholder="Message" required></textarea><button>Send</button></form></main>
<script>
const api = ${JSON.stringify(api)};
let current = null;
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
async function refresh() {
  const r = await fetch(api + "/conversations"); const { conversations } = await r.json();
  document.getElementById("list").innerHTML = conversations.map((c) =>
    '<div data-id="' + esc(c.id) + '" data-phone="' + esc(c.contact.phone) + '" class="' + (c.id === current ? "on" : "") + '"><b>' +
    esc(c.contact.name || c.contact.phone) + "</b><br><small>" + esc(c.lastMessageBody) + "</small></div>").join("");
  const conv = conversations.find((c) => c.id === current);
  if (conv) document.getElementById("thread").innerHTML = conv.messages.map((m) =>
    '<div class="m ' + m.direction + '">' + esc(m.body) + (m.attachments.length ? "<br>" + m.attachments.map((a) => '<a href="' + esc(a) + '">' + esc(a) + "</a>").join("<br>") : "") +
    '<div class="meta">' + esc(m.dateAdded) + " · " + esc(m.status) + (m.deliveryStatus !== undefined ? " · delivery HTTP " + esc(m.deliveryStatus) : "") +
    (m.statuses.length ? " · " + m.statuses.map((s) => esc(s.status) + (s.error ? " (" + esc(s.error.message) + ")" : "")).join(" → ") : "") + "</div></div>").join("");
}
document.getElementById("list").addEventListener("click", (e) => {
  const d = e.target.closest("div[data-id]"); if (!d) return;
  current = d.dataset.id; document.getElementById("phone").value = d.dataset.phone; refresh();
});
document.getElementById("send").addEventListener("submit", async (e) => {
  e.preventDefault(); const f = new FormData(e.target);
  const body = { phone: f.get("phone"), message: f.get("message"), ...(f.get("contactName") ? { contactName: f.get("contactName") } : {}) };
  const r = await fetch(api + "/messages", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const out = await r.json(); current = out.conversationId; e.target.message.value = ""; refresh();
});
refresh(); setInterval(refresh, 2000);
</script></body></html>`,
  );
}
