import { z } from "zod";
import { createApiKey, listApiKeys } from "@/lib/api-keys/api-keys";
import { withLocation } from "@/lib/auth/panel-session";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";

export const dynamic = "force-dynamic";

// The location's API keys, for people in the panel only (a key cannot mint keys). Listing shows no
// secret; minting is for the location's admins, with a handshake from the last few minutes.
export const GET = withLocation(async (_req, auth) => Response.json({ keys: await listApiKeys(db(), auth.locationId) }));

export const POST = withLocation(async (req, auth) => {
  const b = z.object({ label: z.string().trim().min(1).max(64) }).parse(await jsonBody(req));
  const k = await createApiKey(db(), auth.locationId, b.label, `user:${auth.identity.userId}`);
  // the only time the key is shown
  return Response.json({ key: k.key, id: k.id, prefix: k.prefix, label: k.label }, { status: 201 });
}, { admin: true, recentHandshake: true });
