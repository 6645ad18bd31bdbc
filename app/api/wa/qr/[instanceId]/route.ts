import { withApiKey } from "@/lib/api-keys/with-api-key";
import { qrOf } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/wa/qr/:instanceId — the QR to scan (string and PNG data URL), or the connected state.
export const GET = withApiKey<{ instanceId: string }>(async (_req, auth, p) => Response.json(await qrOf(db(), redis(), auth.locationId, p.instanceId)));
