import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { metricsAuthorized } from "@/lib/ops/fleet-metrics";
import { checkReadiness, publicReadiness } from "@/lib/ops/readiness";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// Readiness for load balancers and orchestrators: the status code and which check failed. The
// details (worker ids, error texts, migration counts) describe the deployment, so only a caller
// with the metrics token (`Authorization: Bearer METRICS_TOKEN`) sees them.
export async function GET(req: Request) {
  try {
    const r = await checkReadiness({ db: db(), redis: redis() });
    const full = metricsAuthorized(env().METRICS_TOKEN, req.headers.get("authorization"));
    return Response.json(full ? r : publicReadiness(r), { status: r.ok ? 200 : 503 });
  } catch (e) {
    // configuration itself is broken: say so without internals
    return Response.json(
      {
        ok: false,
        checks: { config: { ok: false, error: e instanceof Error ? e.message.split("\n")[0] : "invalid" } },
      },
      { status: 503 },
    );
  }
}
