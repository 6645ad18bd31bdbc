import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { handle } from "@/lib/http/handler";
import { applyTriggerSubscription } from "@/lib/workflows/trigger-subscription";
import { readWorkflowCall } from "@/lib/workflows/workflow-call";

export const dynamic = "force-dynamic";

// POST /api/ghl/workflows/subscription — a trigger's Subscription URL: GHL says a workflow added,
// changed or removed one of this app's triggers (docs/ghl.md#workflow-triggers).
export const POST = handle(async (req) => {
  const body = await readWorkflowCall(req, env().GHL_WORKFLOW_SECRET);
  return Response.json(await applyTriggerSubscription(db(), body, env().GHL_API_BASE_URL));
});
