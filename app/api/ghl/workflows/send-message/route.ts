import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { handle } from "@/lib/http/handler";
import { redis } from "@/lib/redis";
import { runSendMessageAction } from "@/lib/workflows/send-message-action";
import { readWorkflowCall } from "@/lib/workflows/workflow-call";

export const dynamic = "force-dynamic";

// POST /api/ghl/workflows/send-message — the workflow action "Send WhatsApp message"
// (docs/ghl.md#workflow-actions): queued like a Delivery URL message.
export const POST = handle(async (req) => {
  const body = await readWorkflowCall(req, env().GHL_WORKFLOW_SECRET);
  return Response.json(
    await runSendMessageAction(db(), redis(), body, { allowedMediaOrigins: env().MEDIA_URL_ALLOWED_ORIGINS }),
  );
});
