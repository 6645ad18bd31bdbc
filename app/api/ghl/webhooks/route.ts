import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { ghlAppId } from "@/lib/ghl/app-id";
import { type AppWebhookConfig, acceptAppWebhook } from "@/lib/ghl/app-webhooks";
import { webhookKeys } from "@/lib/ghl/webhook-verify";
import { afterResponse } from "@/lib/http/after-response";
import { handle } from "@/lib/http/handler";
import { readSignedBody } from "@/lib/http/signed-body";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

let cfg: AppWebhookConfig | undefined;

// POST /api/ghl/webhooks — INSTALL / UNINSTALL from GHL. An unsigned call is refused before its body
// is read, a signed one read up to 1 MB; the raw bytes are verified before parsing.
export const POST = handle(async (req) => {
  cfg ??= {
    keys: webhookKeys({ ed25519: env().GHL_WEBHOOK_PUBLIC_KEY_ED25519, rsa: env().GHL_WEBHOOK_PUBLIC_KEY_RSA }),
    appId: ghlAppId(env()),
  };
  const raw = await readSignedBody(req, { what: "webhook" });
  const out = await acceptAppWebhook({ db: db(), redis: redis() }, cfg, raw, req.headers);
  if (out.followUp) afterResponse(out.followUp);
  return Response.json({ ok: true, result: out.result, type: out.type });
});
