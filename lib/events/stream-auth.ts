import { authenticateApiKey, presentedKey } from "../api-keys/api-keys";
import { panelSessionFrom, sessionCookieFrom } from "../auth/panel-session";
import { db } from "../db";

// An SSE stream outlives the request that authenticated it. This re-asks the question withTenant
// answered at the start, with the same credential the request carried: the API key (revoked? its
// location uninstalled?) or the panel session cookie (expired? location uninstalled?), and the
// answer must still be the same location. One indexed lookup per check.
export async function streamStillAuthorized(req: Request, auth: { locationId: string; via: "api-key" | "panel" }): Promise<boolean> {
  if (auth.via === "api-key") {
    const key = presentedKey(req.headers);
    if (!key) return false;
    return (await authenticateApiKey(db(), key))?.locationId === auth.locationId;
  }
  const s = await panelSessionFrom(sessionCookieFrom(req.headers.get("cookie")));
  return s.ok && s.identity.locationId === auth.locationId;
}
