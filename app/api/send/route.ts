import { sendBodySchema } from "@/lib/api/schemas";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/send — queue a WhatsApp message from a number of the key's location (202).
export const POST = withAuth({ via: ["api-key"] }, async (req, auth) => {
  const b = sendBodySchema.parse(await jsonBody(req));
  const r = await acceptOutbound(db(), redis(), {
    locationId: auth.locationId,
    phone: b.to,
    text: b.type === "text" ? (b.message ?? "") : (b.caption ?? b.message ?? ""),
    attachments: b.mediaUrl ? [b.mediaUrl] : [],
    type: b.type,
    source: "API",
    instanceName: b.instanceId,
    allowedMediaOrigins: env().MEDIA_URL_ALLOWED_ORIGINS,
  });
  return Response.json({ ok: true, messageId: r.id, status: r.status, duplicate: r.duplicate }, { status: 202 });
});
