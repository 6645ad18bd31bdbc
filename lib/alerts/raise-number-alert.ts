import type { Db } from "../db";
import { type AlertStatus, defaultReason, repeatsLast } from "./alert-rules";

export type RaisedAlert = {
  id: string;
  locationId: string;
  instanceId: string;
  status: AlertStatus;
  reason: string;
  createdAt: Date;
};

/**
 * Raises an alert about a number, once per transition (lib/alerts/alert-rules.ts `repeatsLast`):
 * null when it would repeat the last one or the number is not this location's. The row is the
 * outbox too: a worker's drain (lib/alerts/alert-outbox.ts) queues the `number.status` webhook
 * and the GHL workflow trigger for it, so a caller needs nothing but Postgres. The health module's
 * "became restricted" calls this with status RESTRICTED and `since` = when the restriction began
 * (a second call for the same restriction is then not a second alert).
 */
export async function raiseNumberAlert(
  db: Db,
  a: { locationId: string; instanceId: string; status: AlertStatus; reason?: string | null; since?: Date },
): Promise<RaisedAlert | null> {
  const reason = a.reason?.trim() || defaultReason(a.status);
  return db.$transaction(async (tx) => {
    // one raiser per number at a time (two workers during a handover, a status and a sweep):
    // the check and the insert are one step, held until commit
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`alert:${a.instanceId}`}))`;
    const inst = await tx.instance.findFirst({
      where: { id: a.instanceId, locationId: a.locationId },
      select: { connectedAt: true },
    });
    if (!inst) return null;
    const last = await tx.numberAlert.findFirst({
      where: { instanceId: a.instanceId, locationId: a.locationId, status: a.status },
      orderBy: { createdAt: "desc" },
      select: { status: true, createdAt: true },
    });
    if (repeatsLast(last, a.status, inst.connectedAt, a.since)) return null;
    const row = await tx.numberAlert.create({
      data: { locationId: a.locationId, instanceId: a.instanceId, status: a.status, reason },
    });
    return {
      id: row.id,
      locationId: row.locationId,
      instanceId: row.instanceId,
      status: a.status,
      reason: row.reason,
      createdAt: row.createdAt,
    };
  });
}
