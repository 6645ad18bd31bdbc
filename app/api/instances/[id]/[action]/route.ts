import { instanceActionSchema, runInstanceAction } from "@/lib/api/instance-actions";
import { view } from "@/lib/api/instances-api";
import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { notFound } from "@/lib/errors";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/instances/:id/{start|stop|restart|logout|pairing-code|default}. Any user of the location
// may start, stop or restart a number; logging it out, linking a phone by pairing code and choosing
// the default number are for admins.
const ADMIN_ACTIONS = new Set(["logout", "pairing-code", "default"]);

const role = (p: { action: string }) => (ADMIN_ACTIONS.has(p.action) ? "admin" : "user");

export const POST = withAuth(
  { via: ["api-key", "panel-session"], role },
  async (req, auth, p: { id: string; action: string }) => {
    const action = instanceActionSchema.safeParse(p.action);
    if (!action.success) throw notFound(`no action ${p.action}`);
    const i = await runInstanceAction(db(), redis(), auth.locationId, p.id, action.data, await jsonBody(req));
    await audit(db(), auth, `instance.${action.data}`, { instanceId: p.id });
    return Response.json({ ok: true, instance: view(i) });
  },
);
