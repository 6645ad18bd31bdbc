import { authenticateApiKey, presentedKey } from "../api-keys/api-keys";
import { panelSessionFrom, requireAdmin, sessionCookieFrom } from "../auth/panel-session";
import { db } from "../db";
import type { Caller } from "./credentials";

// An SSE stream outlives the request that authenticated it. This re-asks the question withAuth
// answered at the start, with the same credential the request carried: the API key (revoked? its
// location uninstalled?) or the panel session cookie (expired? location uninstalled?), and the
// answer must still be the same location. One indexed lookup per check.
export async function streamStillAuthorized(req: Request, auth: Pick<Caller, "locationId" | "via">): Promise<boolean> {
  if (auth.via === "api-key") {
    const key = presentedKey(req.headers);
    if (!key) return false;
    return (await authenticateApiKey(db(), key))?.locationId === auth.locationId;
  }
  const s = await panelSessionFrom(sessionCookieFrom(req.headers.get("cookie")));
  return s.ok && s.identity.locationId === auth.locationId;
}

/**
 * May the stream's caller see a QR or pairing code? Whoever scans one links their phone to the
 * number, so in the panel that is an admin's act (as creating a number or asking for a pairing
 * code is); GHL not answering is a no. An API key holds the power of the admin who minted it.
 */
export async function streamMayLinkAPhone(req: Request, auth: Pick<Caller, "locationId" | "via">): Promise<boolean> {
  if (auth.via === "api-key") return true;
  const s = await panelSessionFrom(sessionCookieFrom(req.headers.get("cookie")));
  if (!s.ok || s.identity.locationId !== auth.locationId) return false;
  try {
    await requireAdmin(s.identity);
    return true;
  } catch {
    return false;
  }
}
