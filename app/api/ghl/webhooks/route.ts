import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { acceptAppWebhook } from "@/lib/ghl/app-webhooks";
import { webhookKeys, type WebhookKeys } from "@/lib/ghl/webhook-verify";
import { afterResponse } from "@/lib/http/after-response";
import { handle } from "@/lib/http/handler";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

let keys: WebhookKeys | undefined;

// POST /api/ghl/webhooks — INSTALL / UNINSTALL from GHL. The raw bytes are verified before parsing.
export const POST = handle(async (req) => {
  keys ??= webhookKeys({ ed25519: env().GHL_WEBHOOK_PUBLIC_KEY_ED25519, rsa: env().GHL_WEBHOOK_PUBLIC_KEY_RSA });
  const raw = Buffer.from(await req.arrayBuffer());
  const out = await acceptAppWebhook({ db: db(), redis: redis() }, keys, raw, req.headers);
  if (out.followUp) afterResponse(out.followUp);
  return Response.json({ ok: true, result: out.result, type: out.type });
});
