import NextAuth from "next-auth";
import { authOptions } from "@/lib/auth/auth-options";
import { partitionCookies } from "@/lib/auth/partitioned-cookies";
import { toErrorResponse } from "@/lib/errors";
import { assertCookieRequestAllowed } from "@/lib/http/csrf";
import { assertNextAuthInput } from "@/lib/http/next-auth-input";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ nextauth: string[] }> };

// next-auth's handler, built on first use (env() is not readable at build time), with its cookies
// marked Partitioned so they survive in GHL's third-party iframe.
let handler: ((req: Request, ctx: Ctx) => Promise<Response>) | undefined;
async function run(req: Request, ctx: Ctx): Promise<Response> {
  // sign-in and the location switch change the session: from the panel's own origin only. The body
  // stays next-auth's (form-encoded for sign-in), checked by next-auth's own CSRF token.
  try {
    assertCookieRequestAllowed(req, { requireJson: false });
    await assertNextAuthInput(
      req,
      (await ctx.params).nextauth,
      authOptions().cookies?.callbackUrl?.name ?? "gw.callback-url",
    );
  } catch (err) {
    const { status, body } = toErrorResponse(err);
    return Response.json(body, { status });
  }
  handler ??= NextAuth(authOptions()) as unknown as (req: Request, ctx: Ctx) => Promise<Response>;
  return partitionCookies(await handler(req, ctx));
}

export { run as GET, run as POST };
