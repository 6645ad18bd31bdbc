import { requestUserPayload, signInWithPayload } from "./sso-client";

// fetch for the panel's own API. Minting a key or moving the webhook wants a recent SSO handshake
// (401 reauth_required), and a session ends at its absolute life (401 unauthorized): the panel then
// runs the handshake again with GHL's frame, out of sight, and retries once. An agency session
// asks to stay on the location it shows; if it did not, the page reloads instead of acting elsewhere.

const REAUTH_CODES = new Set(["reauth_required", "unauthorized"]);
let running: Promise<boolean> | null = null;

export async function panelFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const r = await fetch(path, init);
  if (r.status !== 401 || window.parent === window) return r;
  const code = (
    (await r
      .clone()
      .json()
      .catch(() => ({}))) as { error?: { code?: string } }
  ).error?.code;
  if (!code || !REAUTH_CODES.has(code)) return r;
  running ??= reauthenticate().finally(() => (running = null));
  return (await running) ? fetch(path, init) : r;
}

async function reauthenticate(): Promise<boolean> {
  const shown = document.querySelector<HTMLElement>("[data-location-id]")?.dataset.locationId;
  const payload = await requestUserPayload(10_000);
  if (!payload || (await signInWithPayload(payload, window.location.pathname, shown))) return false;
  const now = await fetch("/api/panel/location", { cache: "no-store" });
  const id = now.ok ? ((await now.json()) as { location?: { id?: string } }).location?.id : undefined;
  if (shown && id !== shown) {
    window.location.reload();
    return false;
  }
  return true;
}
