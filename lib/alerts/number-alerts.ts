import { audit } from "../audit";
import type { Db } from "../db";
import { notFound } from "../errors";

export type OpenAlert = { id: string; number: string; status: string; reason: string; createdAt: string };

/** The location's alerts not yet acknowledged, newest first (the panel's banner). */
export async function openAlerts(db: Db, locationId: string): Promise<OpenAlert[]> {
  const rows = await db.numberAlert.findMany({
    where: { locationId, acknowledgedAt: null },
    orderBy: { createdAt: "desc" },
    take: 50,
    select: { id: true, instanceId: true, status: true, reason: true, createdAt: true },
  });
  if (!rows.length) return [];
  // a deleted number's alerts are hidden (no relation: docs/architecture.md#number-alerts)
  const names = new Map(
    (
      await db.instance.findMany({
        where: { locationId, id: { in: [...new Set(rows.map((r) => r.instanceId))] } },
        select: { id: true, name: true },
      })
    ).map((i) => [i.id, i.name]),
  );
  return rows.flatMap((r) => {
    const number = names.get(r.instanceId);
    return number
      ? [{ id: r.id, number, status: r.status, reason: r.reason, createdAt: r.createdAt.toISOString() }]
      : [];
  });
}

/** A person saw it: the banner stops showing it. Another location's id is unknown (404). */
export async function acknowledgeAlert(db: Db, locationId: string, id: string, by: string): Promise<void> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound("no such alert");
  const r = await db.numberAlert.updateMany({
    where: { id, locationId, acknowledgedAt: null },
    data: { acknowledgedAt: new Date(), acknowledgedBy: by },
  });
  if (r.count === 1) return audit(db, { locationId, actor: by }, "alert.acknowledged", { alertId: id });
  const known = await db.numberAlert.count({ where: { id, locationId } });
  if (!known) throw notFound("no such alert");
}
