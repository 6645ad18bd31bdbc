import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { handle } from "@/lib/http/handler";
import { sendMessageFields } from "@/lib/workflows/send-message-fields";
import { readWorkflowCall } from "@/lib/workflows/workflow-call";

export const dynamic = "force-dynamic";

// POST /api/ghl/workflows/send-message/fields — the action's Dynamic field: the form GHL shows
// when the action is configured, with the location's numbers (docs/ghl.md#workflow-actions).
export const POST = handle(async (req) => {
  const body = await readWorkflowCall(req, env().GHL_WORKFLOW_SECRET);
  return Response.json(await sendMessageFields(db(), body));
});
