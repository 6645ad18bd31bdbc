import { ZodError } from "zod";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { webhookKeys } from "@/lib/ghl/webhook-verify";
import { handle } from "@/lib/http/handler";
import { childLogger } from "@/lib/log";
import { acceptDelivery, readDeliveryBody, RETRY_AFTER_SECONDS } from "@/lib/messages/delivery";
import { metrics } from "@/lib/ops/metrics";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

const latency = metrics().histogram("gw_delivery_url_seconds", "Delivery URL handler latency", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
const outcomes = metrics().counter("gw_delivery_url_total", "Delivery URL calls by outcome");
let keys: ReturnType<typeof webhookKeys> | undefined;

const retryLater = (retryAfterSeconds: number, message: string) =>
  Response.json({ error: { code: "rate_limited", message } }, { status: 429, headers: { "retry-after": String(retryAfterSeconds) } });

// POST /api/ghl/delivery — GHL's conversation provider Delivery URL. GHL resends only a 429, so a
// message is never answered 5xx: stored (Postgres) or spooled (Redis) → 200, else 429 (decision 006).
export const POST = handle(async (req, { requestId }) => {
  const t0 = performance.now();
  keys ??= webhookKeys({ ed25519: env().GHL_WEBHOOK_PUBLIC_KEY_ED25519, rsa: env().GHL_WEBHOOK_PUBLIC_KEY_RSA });
  try {
    const raw = await readDeliveryBody(req, { allowUnsigned: env().GHL_DELIVERY_ALLOW_UNSIGNED });
    const r = await acceptDelivery({ db: db(), redis: redis(), keys, allowUnsigned: env().GHL_DELIVERY_ALLOW_UNSIGNED, allowedMediaOrigins: env().MEDIA_URL_ALLOWED_ORIGINS }, raw, req.headers);
    if (r.kind === "retry") {
      outcomes.inc({ outcome: "retry_later" });
      return retryLater(r.retryAfterSeconds, "the message could not be stored now; send it again");
    }
    if (r.kind === "spooled") {
      outcomes.inc({ outcome: "spooled" });
      return Response.json({ ok: true, status: "SPOOLED", spooled: true, duplicate: false });
    }
    outcomes.inc({ outcome: r.duplicate ? "duplicate" : r.status === "FAILED" ? "failed" : "queued" });
    return Response.json({ ok: true, messageId: r.id, status: r.status, duplicate: r.duplicate });
  } catch (e) {
    if (e instanceof AppError || e instanceof ZodError) {
      outcomes.inc({ outcome: "rejected" });
      throw e;
    }
    // not the call's fault, and not stored: a 500 would lose it for good, a 429 has GHL resend it
    outcomes.inc({ outcome: "retry_later" });
    childLogger({ requestId, module: "delivery" }).error({ err: e }, "Delivery URL failed unexpectedly; answering 429 so that GHL resends");
    return retryLater(RETRY_AFTER_SECONDS, "something went wrong on our side; send it again");
  } finally {
    latency.observe({ route: "delivery" }, (performance.now() - t0) / 1000);
  }
});
