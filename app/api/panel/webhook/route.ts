import { z } from "zod";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { configureWebhook, webhookUrlOf } from "@/lib/outgoing-webhooks/outgoing-webhooks";

export const dynamic = "force-dynamic";

// PUT /api/panel/webhook {url | null} — the location's outgoing webhook for automations. The
// signing secret is returned once, when a URL is set. Admins only (whoever sets it reads every
// inbound message), with a recent handshake; reading it too, since such URLs often carry a token.
export const PUT = withAuth({ via: ["panel-session"], role: "admin", recentHandshake: true }, async (req, auth) => {
  const b = z.object({ url: z.string().url().max(2048).nullable() }).parse(await jsonBody(req));
  const r = await configureWebhook(db(), auth.locationId, b.url, { allowedOrigins: env().MEDIA_URL_ALLOWED_ORIGINS });
  return Response.json(r);
});

export const GET = withAuth({ via: ["panel-session"], role: "admin" }, async (_req, auth) =>
  Response.json({ url: await webhookUrlOf(db(), auth.locationId) }),
);
