import { handshakePayload } from "./handshake-answer";

// The SSO handshake, shared by the panel's entry page and by re-authentication inside the panel:
// REQUEST_USER_DATA to the frame that embeds us → REQUEST_USER_DATA_RESPONSE with GHL's encrypted
// payload → next-auth sign-in with the `ghl-sso` Credentials provider. The payload never leaves for
// anywhere but our server.

export const SIGN_IN_REFUSALS = [
  "not_installed",
  "no_location",
  "invalid_payload",
  "no_access",
  "roles_unavailable",
] as const;
export type SignInRefusal = (typeof SIGN_IN_REFUSALS)[number] | "timeout";

/** GHL's encrypted user payload, or null when the parent frame does not answer in time. */
// the frame-ancestors list, as the handshake page was given it; later re-handshakes (panel-fetch.ts)
// use the same list
let frameOrigins: readonly string[] | null = null;

export function requestUserPayload(timeoutMs: number, allowedOrigins?: readonly string[]): Promise<string | null> {
  if (allowedOrigins) frameOrigins = allowedOrigins;
  const origins = allowedOrigins ?? frameOrigins;
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(null), timeoutMs);
    function finish(v: string | null) {
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      resolve(v);
    }
    function onMessage(ev: MessageEvent) {
      // only the frame that embeds us, on an origin allowed to frame us, speaks for GHL
      // (handshake-answer.ts); without the list (a page that never ran the handshake) only the frame
      if (origins) {
        const payload = handshakePayload(ev, window.parent, origins);
        if (payload !== null) finish(payload);
        return;
      }
      if (ev.source !== window.parent || ev.data?.message !== "REQUEST_USER_DATA_RESPONSE") return;
      finish(String(ev.data.payload ?? ""));
    }
    window.addEventListener("message", onMessage);
    window.parent.postMessage({ message: "REQUEST_USER_DATA" }, "*");
  });
}

/** Signs in with the payload; null on success, else why not. `locationId`: where an agency session should stay. */
export async function signInWithPayload(
  payload: string,
  callbackUrl: string,
  locationId?: string,
): Promise<SignInRefusal | null> {
  try {
    const csrf = (await (await fetch("/api/auth/csrf", { credentials: "include" })).json()) as { csrfToken: string };
    const res = await fetch("/api/auth/callback/ghl-sso", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        csrfToken: csrf.csrfToken,
        payload,
        json: "true",
        callbackUrl,
        ...(locationId ? { locationId } : {}),
      }),
    });
    const body = (await res.json().catch(() => ({}))) as { url?: string };
    const error = body.url ? new URL(body.url, window.location.href).searchParams.get("error") : "invalid_payload";
    if (!error) return null;
    return (SIGN_IN_REFUSALS as readonly string[]).includes(error) ? (error as SignInRefusal) : "invalid_payload";
  } catch {
    return "timeout";
  }
}
