import { qrOf } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { withAuth } from "@/lib/http/with-auth";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/wa/qr/:instanceId — the QR to scan (string and PNG data URL), or the connected state.
export const GET = withAuth({ via: ["api-key"] }, async (_req, auth, p: { instanceId: string }) =>
  Response.json(await qrOf(db(), redis(), auth.locationId, p.instanceId)),
);
