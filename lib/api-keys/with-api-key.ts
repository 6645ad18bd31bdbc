import { db } from "../db";
import { unauthorized } from "../errors";
import { handle, type RouteContext } from "../http/handler";
import { authenticateApiKey, presentedKey } from "./api-keys";

// Direct-API auth: `x-api-key: gwk_…` or `Authorization: Bearer gwk_…`. The handler receives the
// key's location and must scope everything to it.
export type ApiKeyAuth = { locationId: string; keyId: string; requestId: string };

export function withApiKey<P = Record<string, string>>(
  fn: (req: Request, auth: ApiKeyAuth, params: P) => Promise<Response>,
) {
  return handle<P>(async (req, ctx: RouteContext<P> & { requestId: string }) => {
    const key = presentedKey(req.headers);
    if (!key) throw unauthorized("send your API key in the x-api-key header or as Authorization: Bearer <key>");
    const auth = await authenticateApiKey(db(), key);
    if (!auth) throw unauthorized("this API key is not valid (revoked, mistyped, or its location was uninstalled)");
    return fn(req, { ...auth, requestId: ctx.requestId }, await ctx.params);
  });
}
