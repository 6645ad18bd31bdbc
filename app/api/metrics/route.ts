import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { registerFleetGauges, renderMetrics } from "@/lib/ops/fleet-metrics";
import { metrics } from "@/lib/ops/metrics";

export const dynamic = "force-dynamic";

let registered = false;

// Prometheus scrape endpoint of the app (Bearer METRICS_TOKEN).
export async function GET(req: Request) {
  if (!registered) {
    registerFleetGauges(metrics(), { db: db() });
    registered = true;
  }
  const r = await renderMetrics(env().METRICS_TOKEN, req.headers.get("authorization"));
  return new Response(r.body, { status: r.status, headers: { "content-type": "text/plain; version=0.0.4" } });
}
