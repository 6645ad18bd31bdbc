import { outboundWebhookSchema } from "@/lib/api/schemas";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/ghl/outbound — a GHL workflow "custom webhook" action sends a WhatsApp message.
export const POST = withAuth({ via: ["api-key"] }, async (req, auth) => {
  const b = outboundWebhookSchema.parse(await jsonBody(req));
  const r = await acceptOutbound(db(), redis(), {
    locationId: auth.locationId,
    phone: (b.to ?? b.phone)!,
    ghlContactId: b.contactId,
    text: b.message,
    attachments: b.mediaUrl ? [b.mediaUrl] : [],
    type: b.type,
    source: "API",
    instanceName: b.instanceId,
    allowedMediaOrigins: env().MEDIA_URL_ALLOWED_ORIGINS,
  });
  return Response.json({ ok: true, messageId: r.id, status: r.status, duplicate: r.duplicate }, { status: 202 });
});
