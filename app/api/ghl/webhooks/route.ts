import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { ghlAppId } from "@/lib/ghl/app-id";
import { acceptAppWebhook, type AppWebhookConfig } from "@/lib/ghl/app-webhooks";
import { webhookKeys } from "@/lib/ghl/webhook-verify";
import { afterResponse } from "@/lib/http/after-response";
import { handle } from "@/lib/http/handler";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

let cfg: AppWebhookConfig | undefined;

// POST /api/ghl/webhooks — INSTALL / UNINSTALL from GHL. The raw bytes are verified before parsing.
export const POST = handle(async (req) => {
  cfg ??= { keys: webhookKeys({ ed25519: env().GHL_WEBHOOK_PUBLIC_KEY_ED25519, rsa: env().GHL_WEBHOOK_PUBLIC_KEY_RSA }), appId: ghlAppId(env()) };
  const raw = Buffer.from(await req.arrayBuffer());
  const out = await acceptAppWebhook({ db: db(), redis: redis() }, cfg, raw, req.headers);
  if (out.followUp) afterResponse(out.followUp);
  return Response.json({ ok: true, result: out.result, type: out.type });
});
