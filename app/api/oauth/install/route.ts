import { authorizeUrl, createInstallState } from "@/lib/ghl/oauth";
import { handle } from "@/lib/http/handler";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/oauth/install — to GHL's choose-location page with a single-use, expiring state.
export const GET = handle(async () => {
  const state = await createInstallState(redis());
  return new Response(null, { status: 302, headers: { location: authorizeUrl(state), "cache-control": "no-store" } });
});
