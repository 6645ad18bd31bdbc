import { z } from "zod";
import { createApiKey, listApiKeys } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";

export const dynamic = "force-dynamic";

// The location's API keys, for people in the panel only (a key cannot mint keys). Listing shows no
// secret; minting is for the location's admins, with a handshake from the last few minutes.
export const GET = withAuth({ via: ["panel-session"] }, async (_req, auth) =>
  Response.json({ keys: await listApiKeys(db(), auth.locationId) }),
);

export const POST = withAuth({ via: ["panel-session"], role: "admin", recentHandshake: true }, async (req, auth) => {
  const b = z.object({ label: z.string().trim().min(1).max(64) }).parse(await jsonBody(req));
  const k = await createApiKey(db(), auth.locationId, b.label, `user:${auth.identity.userId}`);
  // the only time the key is shown
  return Response.json({ key: k.key, id: k.id, prefix: k.prefix, label: k.label }, { status: 201 });
});
