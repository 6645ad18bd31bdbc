import type { Db } from "../db";
import type { HealthState } from "./health-rules";
import { healthOfNumber, type NumberHealth } from "./number-health";

// When a number's health changes (healthy → at_risk → restricted and back), whoever listens is
// told once: the alerts (banner, `number.status` webhook, GHL trigger) register here. The last
// state is kept as a "NumberEvent" row of kind `health` (code = the state), written under a lock
// on the number's row, so two processes judging the same change tell it once, and a restart does
// not tell it again (docs/architecture.md#number-health).

export type HealthChange = {
  locationId: string;
  instanceId: string;
  numberName: string;
  from: HealthState;
  to: HealthState;
  reasons: string[];
  restrictedUntil: Date | null;
  at: Date;
};
export type HealthListener = (c: HealthChange) => void | Promise<void>;

const listeners = new Set<HealthListener>();

/** Be told of every change of a number's health in this process; returns the unsubscribe. */
export function onHealthChange(listener: HealthListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Judges the number now and, if its state differs from the last one recorded, records the new one
 * and tells the listeners. Called where something that bears on health happened (an error ack, a
 * reconnect, a logout) and where the send loop asks for the health of a number anyway.
 */
export async function noteHealth(
  db: Db,
  locationId: string,
  instanceId: string,
  now: Date,
): Promise<{ health: NumberHealth; change?: HealthChange }> {
  const h = await healthOfNumber(db, locationId, instanceId, now);
  const changed = await db.$transaction(async (tx) => {
    const [inst] = await tx.$queryRaw<
      { name: string }[]
    >`SELECT name FROM "Instance" WHERE id = ${instanceId} AND "locationId" = ${locationId} FOR UPDATE`;
    if (!inst) return undefined;
    const [last] = await tx.$queryRaw<{ code: string | null }[]>`
      SELECT code FROM "NumberEvent" WHERE "instanceId" = ${instanceId} AND "locationId" = ${locationId} AND kind = 'health' ORDER BY at DESC, id DESC LIMIT 1`;
    const from = (last?.code ?? "healthy") as HealthState;
    if (from === h.state) return undefined;
    await tx.$executeRaw`
      INSERT INTO "NumberEvent" (id, "locationId", "instanceId", kind, code, at) VALUES (gen_random_uuid()::text, ${locationId}, ${instanceId}, 'health', ${h.state}, ${now})`;
    return {
      locationId,
      instanceId,
      numberName: inst.name,
      from,
      to: h.state,
      reasons: h.reasons,
      restrictedUntil: h.restrictedUntil,
      at: now,
    } satisfies HealthChange;
  });
  if (changed) {
    for (const l of listeners) {
      try {
        await l(changed);
      } catch {
        // a listener's failure is its own (it logs); the others are still told
      }
    }
  }
  return { health: h, change: changed };
}
