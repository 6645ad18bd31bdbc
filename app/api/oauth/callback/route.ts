import { z } from "zod";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { consumeInstallState, exchangeCode, OAuthError } from "@/lib/ghl/oauth";
import { handle } from "@/lib/http/handler";
import { childLogger } from "@/lib/log";
import { redis } from "@/lib/redis";
import { completeInstall } from "@/lib/tenants/install";
import { saveInstallReport } from "@/lib/tenants/install-report";

export const dynamic = "force-dynamic";

const query = z.object({ code: z.string().min(1).max(2000).optional(), state: z.string().max(200).optional(), error: z.string().max(200).optional() });

// GET /api/oauth/callback?code&state — exchange, store, mint, then the success page. A person is
// looking at this, so every failure ends on a page that says what happened, not a JSON error.
export const GET = handle(async (req, { requestId }) => {
  const q = query.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  const to = (path: string) => new Response(null, { status: 303, headers: { location: new URL(path, env().APP_URL).toString(), "cache-control": "no-store" } });
  if (!q.success || q.data.error || !q.data.code) return to("/installed?error=denied");
  if (!q.data.state || !(await consumeInstallState(redis(), q.data.state))) return to("/installed?error=state");
  try {
    const tokens = await exchangeCode(q.data.code);
    const result = await completeInstall({ db: db(), redis: redis() }, tokens);
    return to(`/installed?r=${await saveInstallReport(redis(), result)}`);
  } catch (err) {
    childLogger({ requestId }).warn({ err: err instanceof OAuthError ? { status: err.status, error: err.error } : err }, "install callback failed");
    return to("/installed?error=exchange");
  }
});
