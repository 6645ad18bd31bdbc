import { ZodError } from "zod";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { AppError, unauthorized } from "@/lib/errors";
import { webhookKeys } from "@/lib/ghl/webhook-verify";
import { handle } from "@/lib/http/handler";
import { childLogger } from "@/lib/log";
import { acceptDelivery, locationOfToken, RETRY_AFTER_SECONDS, readDeliveryBody } from "@/lib/messages/delivery";
import { metrics } from "@/lib/ops/metrics";
import { redis } from "@/lib/redis";

// Shared by POST /api/ghl/delivery (GHL's signed calls) and POST /api/ghl/delivery/<token> (a
// location's own URL, the only way in for an unsigned call where GHL_DELIVERY_ALLOW_UNSIGNED is on).
const latency = metrics().histogram(
  "gw_delivery_url_seconds",
  "Delivery URL handler latency",
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
);
const outcomes = metrics().counter("gw_delivery_url_total", "Delivery URL calls by outcome");
let keys: ReturnType<typeof webhookKeys> | undefined;

const retryLater = (retryAfterSeconds: number, message: string) =>
  Response.json(
    { error: { code: "rate_limited", message } },
    { status: 429, headers: { "retry-after": String(retryAfterSeconds) } },
  );

// GHL resends only a 429, so a message is never answered 5xx: stored (Postgres) or spooled
// (Redis) → 200, else 429 (decision 006).
export const deliveryHandler = (tokenOf: (params: Record<string, string>) => string | undefined) =>
  handle<Record<string, string>>(async (req, { requestId, params }) => {
    const t0 = performance.now();
    keys ??= webhookKeys({ ed25519: env().GHL_WEBHOOK_PUBLIC_KEY_ED25519, rsa: env().GHL_WEBHOOK_PUBLIC_KEY_RSA });
    try {
      const token = tokenOf(await params);
      // a wrong token is refused before any of the body is read, like a missing signature
      if (token !== undefined && locationOfToken(token) === null)
        throw unauthorized("this Delivery URL is not valid (wrong or outdated secret)");
      // without a token an unsigned call is never read, whatever the flag says
      const allowUnsigned = env().GHL_DELIVERY_ALLOW_UNSIGNED && token !== undefined;
      const raw = await readDeliveryBody(req, { allowUnsigned });
      const r = await acceptDelivery(
        {
          db: db(),
          redis: redis(),
          keys,
          allowUnsigned,
          locationToken: token,
          conversationProviderId: env().GHL_CONVERSATION_PROVIDER_ID,
          allowedMediaOrigins: env().MEDIA_URL_ALLOWED_ORIGINS,
        },
        raw,
        req.headers,
      );
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
      childLogger({ requestId, module: "delivery" }).error(
        { err: e },
        "Delivery URL failed unexpectedly; answering 429 so that GHL resends",
      );
      return retryLater(RETRY_AFTER_SECONDS, "something went wrong on our side; send it again");
    } finally {
      latency.observe({ route: "delivery" }, (performance.now() - t0) / 1000);
    }
  });
