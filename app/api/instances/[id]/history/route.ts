import {
  cancelHistoryImport,
  historyImportPatchSchema,
  historyImportView,
  setHistoryImportDays,
} from "@/lib/api/history-api";
import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";

export const dynamic = "force-dynamic";

// GET /api/instances/:id/history — the number's import of past conversations (setting, progress);
// PUT {days} — how many days are imported when it is linked (0: off); DELETE — cancel the running
// import. Changing or cancelling is for admins.
export const GET = withAuth({ via: ["api-key", "panel-session"] }, async (_req, auth, p: { id: string }) =>
  Response.json(await historyImportView(db(), auth.locationId, p.id)),
);

export const PUT = withAuth(
  { via: ["api-key", "panel-session"], role: "admin" },
  async (req, auth, p: { id: string }) => {
    const b = historyImportPatchSchema.parse(await jsonBody(req));
    const v = await setHistoryImportDays(db(), auth.locationId, p.id, b.days);
    await audit(db(), auth, "instance.history-import.set", { instanceId: p.id, days: b.days });
    return Response.json(v);
  },
);

export const DELETE = withAuth(
  { via: ["api-key", "panel-session"], role: "admin" },
  async (_req, auth, p: { id: string }) => {
    const v = await cancelHistoryImport(db(), auth.locationId, p.id);
    if (v.cancelled) await audit(db(), auth, "instance.history-import.cancelled", { instanceId: p.id });
    return Response.json(v);
  },
);
