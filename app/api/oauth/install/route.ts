import { authorizeUrl, createInstallState, stateCookie } from "@/lib/ghl/oauth";
import { handle } from "@/lib/http/handler";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/oauth/install — to GHL's choose-location page with a single-use, expiring state, bound
// to this browser by a cookie the callback checks (lib/ghl/oauth.ts).
export const GET = handle(async () => {
  const state = await createInstallState(redis());
  const headers = new Headers({ location: authorizeUrl(state), "cache-control": "no-store" });
  headers.append("set-cookie", stateCookie(state));
  return new Response(null, { status: 302, headers });
});
