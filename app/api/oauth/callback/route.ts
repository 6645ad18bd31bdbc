import { z } from "zod";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import {
  clearedStateCookie,
  consumeInstallState,
  exchangeCode,
  OAuthError,
  stateMatchesBrowser,
} from "@/lib/ghl/oauth";
import { handle } from "@/lib/http/handler";
import { childLogger } from "@/lib/log";
import { redis } from "@/lib/redis";
import { completeInstall } from "@/lib/tenants/install";
import { saveInstallReport } from "@/lib/tenants/install-report";

export const dynamic = "force-dynamic";

const query = z.object({
  code: z.string().min(1).max(2000).optional(),
  state: z.string().max(200).optional(),
  error: z.string().max(200).optional(),
});

// GET /api/oauth/callback?code&state — exchange, store, mint, then the success page. A person is
// looking at this, so every failure ends on a page that says what happened, not a JSON error.
export const GET = handle(async (req, { requestId }) => {
  const q = query.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  const spent = q.success && !!q.data.state; // this browser's state cookie, if any, is used up
  const to = (path: string) => {
    const headers = new Headers({ location: new URL(path, env().APP_URL).toString(), "cache-control": "no-store" });
    if (spent) headers.append("set-cookie", clearedStateCookie());
    return new Response(null, { status: 303, headers });
  };
  if (!q.success || q.data.error || !q.data.code) return to("/installed?error=denied");
  if (q.data.state) {
    // A state from another browser: someone else's install being completed in this one. The state
    // is not spent, so it cannot be used to burn the legitimate browser's install either.
    if (!stateMatchesBrowser(q.data.state, req.headers.get("cookie"))) {
      childLogger({ requestId }).warn("install callback refused: its state was not issued to this browser");
      return otherBrowserPage();
    }
    if (!(await consumeInstallState(redis(), q.data.state))) return to("/installed?error=state");
  } else {
    // No state: an install started on the Marketplace itself (its Install button opens the consent
    // page with our client_id and redirect URI, and GHL sends back only `code`; docs/ghl.md#oauth).
    // The code is single-use and only our client secret exchanges it; what it installs is the
    // location or agency its consenting admin chose (SECURITY.md, "The OAuth state").
    childLogger({ requestId }).info("install callback without a state: started on the Marketplace");
  }
  try {
    const tokens = await exchangeCode(q.data.code);
    const result = await completeInstall({ db: db(), redis: redis() }, tokens);
    return to(`/installed?r=${await saveInstallReport(redis(), result)}`);
  } catch (err) {
    childLogger({ requestId }).warn(
      { err: err instanceof OAuthError ? { status: err.status, error: err.error } : err },
      "install callback failed",
    );
    return to("/installed?error=exchange");
  }
});

function otherBrowserPage(): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Installation refused</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">
<h1 style="color:#b91c1c">The installation did not complete</h1>
<p>This installation was not started in this browser (or the browser did not keep its cookie), so it was refused: nothing was installed.</p>
<p>If you meant to install the app, start again from this browser.</p>
<p><a href="/api/oauth/install">Install again</a></p>
</body></html>`;
  return new Response(html, {
    status: 400,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });
}
