import { originMatchesSources } from "@/lib/http/frame-policy";

// Which message answers the SSO handshake. The payload signs in whoever it names, so an answer is
// taken only from the frame that embeds us (`source`) and only when that frame is on an origin
// allowed to frame the panel (`origin`, the frame-ancestors list): a page elsewhere that frames the
// panel, or a window the panel opened, cannot sign the panel into an account of its choosing
// (login CSRF). Pure, so it is unit-tested without a browser.
export type HandshakeMessage = { origin: string; source: unknown; data: unknown };

/** The encrypted payload of an acceptable REQUEST_USER_DATA_RESPONSE, or null to ignore the message. */
export function handshakePayload(
  ev: HandshakeMessage,
  parent: unknown,
  allowedOrigins: readonly string[],
): string | null {
  if (ev.source !== parent || !originMatchesSources(ev.origin, allowedOrigins)) return null;
  const data = ev.data as { message?: unknown; payload?: unknown } | null;
  if (!data || typeof data !== "object" || data.message !== "REQUEST_USER_DATA_RESPONSE") return null;
  return typeof data.payload === "string" && data.payload.length > 0 ? data.payload : null;
}
