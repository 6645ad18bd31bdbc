import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { webhookKeys } from "@/lib/ghl/webhook-verify";
import { handle } from "@/lib/http/handler";
import { acceptDelivery } from "@/lib/messages/delivery";
import { metrics } from "@/lib/ops/metrics";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

const latency = metrics().histogram("gw_delivery_url_seconds", "Delivery URL handler latency", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
const outcomes = metrics().counter("gw_delivery_url_total", "Delivery URL calls by outcome");
let keys: ReturnType<typeof webhookKeys> | undefined;

// POST /api/ghl/delivery — GHL's conversation provider Delivery URL.
export const POST = handle(async (req) => {
  const t0 = performance.now();
  keys ??= webhookKeys({ ed25519: env().GHL_WEBHOOK_PUBLIC_KEY_ED25519, rsa: env().GHL_WEBHOOK_PUBLIC_KEY_RSA });
  try {
    const raw = Buffer.from(await req.arrayBuffer());
    const r = await acceptDelivery({ db: db(), redis: redis(), keys, allowUnsigned: env().GHL_DELIVERY_ALLOW_UNSIGNED }, raw, req.headers);
    outcomes.inc({ outcome: r.duplicate ? "duplicate" : r.status === "FAILED" ? "failed" : "queued" });
    return Response.json({ ok: true, messageId: r.id, status: r.status, duplicate: r.duplicate });
  } catch (e) {
    outcomes.inc({ outcome: "rejected" });
    throw e;
  } finally {
    latency.observe({ route: "delivery" }, (performance.now() - t0) / 1000);
  }
});
