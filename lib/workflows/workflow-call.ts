import { createHash, timingSafeEqual } from "node:crypto";
import { AppError, badRequest, notFound, unauthorized } from "../errors";
import { isJson } from "../http/csrf";
import { readCappedBody } from "../http/signed-body";

// The calls GHL's workflows make to this app (a trigger's Subscription URL, an action's
// execution URL). GHL documents no signature on them: what it documents is the headers the
// developer enters for each URL in the Marketplace, sent with every call. So the app is
// configured with one secret, GHL_WORKFLOW_SECRET, entered there as the header below, and a call
// without it is refused before its body is read (docs/ghl.md#workflow-calls). Unset: the
// endpoints do not exist (404).

export const WORKFLOW_SECRET_HEADER = "x-gw-workflow-secret";
/** GHL's workflow payloads are a few fields; a large body is not one of them */
export const WORKFLOW_BODY_MAX_BYTES = 64 * 1024;

export async function readWorkflowCall(req: Request, secret: string): Promise<unknown> {
  if (!secret) {
    await req.body?.cancel().catch(() => {});
    throw notFound();
  }
  if (!sameSecret(req.headers.get(WORKFLOW_SECRET_HEADER), secret)) {
    await req.body?.cancel().catch(() => {});
    throw unauthorized("the workflow call does not carry this app's secret header");
  }
  if (!isJson(req.headers.get("content-type"))) {
    await req.body?.cancel().catch(() => {});
    throw new AppError("unsupported_media_type", "send the body as JSON with content-type: application/json");
  }
  const raw = await readCappedBody(req, WORKFLOW_BODY_MAX_BYTES);
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw badRequest("the body is not valid JSON");
  }
}

// digests first: equal lengths for timingSafeEqual, and no early exit on a length mismatch
function sameSecret(given: string | null, secret: string): boolean {
  if (!given) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(secret).digest();
  return timingSafeEqual(a, b);
}
