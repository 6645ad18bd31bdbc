import { db } from "@/lib/db";
import { withAuth } from "@/lib/http/with-auth";
import { messageLog, messageLogQuery } from "@/lib/messages/message-log";

export const dynamic = "force-dynamic";

// GET /api/panel/messages?instanceId&status&before&limit — the location's message log.
export const GET = withAuth({ via: ["panel-session"] }, async (req, auth) => {
  const q = messageLogQuery.parse(Object.fromEntries(new URL(req.url).searchParams));
  return Response.json({ messages: await messageLog(db(), auth.locationId, q) });
});
