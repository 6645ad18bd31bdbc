import { revokeApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { withAuth } from "@/lib/http/with-auth";

export const dynamic = "force-dynamic";

export const DELETE = withAuth({ via: ["panel-session"], role: "admin" }, async (_req, auth, p: { id: string }) => {
  await revokeApiKey(db(), auth.locationId, p.id, `user:${auth.identity.userId}`);
  return Response.json({ ok: true });
});
