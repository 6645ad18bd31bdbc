import { withApiKey } from "@/lib/api-keys/with-api-key";
import { createInstanceSchema, createOrInit, view } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { list } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/instances — create a number (or reinitialise it); GET — the location's numbers.
export const POST = withApiKey(async (req, auth) => {
  const b = createInstanceSchema.parse(await jsonBody(req));
  const r = await createOrInit(db(), redis(), auth.locationId, b);
  return Response.json({ ok: true, ...r }, { status: r.created ? 201 : 200 });
});

export const GET = withApiKey(async (_req, auth) => {
  return Response.json({ instances: (await list(db(), auth.locationId)).map(view) });
});
