import { revokeApiKey } from "@/lib/api-keys/api-keys";
import { withLocation } from "@/lib/auth/panel-session";
import { db } from "@/lib/db";

export const dynamic = "force-dynamic";

export const DELETE = withLocation<{ id: string }>(async (_req, auth, p) => {
  await revokeApiKey(db(), auth.locationId, p.id, `user:${auth.identity.userId}`);
  return Response.json({ ok: true });
}, { admin: true });
