import { db } from "@/lib/db";
import { redis } from "@/lib/redis";
import { checkReadiness } from "@/lib/ops/readiness";

export const dynamic = "force-dynamic";

export async function GET() {
  try {
    const r = await checkReadiness({ db: db(), redis: redis() });
    return Response.json(r, { status: r.ok ? 200 : 503 });
  } catch (e) {
    // configuration itself is broken: say so without internals
    return Response.json(
      { ok: false, checks: { config: { ok: false, error: e instanceof Error ? e.message.split("\n")[0] : "invalid" } } },
      { status: 503 },
    );
  }
}
