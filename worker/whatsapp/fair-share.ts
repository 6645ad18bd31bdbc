// The share arithmetic of the fleet (docs/architecture.md#sharing-numbers-between-workers): how
// many RUNNING numbers each live worker should hold, by weight, and when one hands a number over.
// Pure, so that every worker, from the same heartbeat view, reaches the same answer.

export type FleetMember = { id: string; weight: number; held: number };

/**
 * Each member's target: `total` split by weight with the largest-remainder method, so the
 * targets sum to exactly `total`; ties go to the smaller id, the same on every worker.
 */
export function targetShares(total: number, members: FleetMember[]): Map<string, number> {
  const out = new Map<string, number>();
  const weightSum = members.reduce((s, m) => s + m.weight, 0);
  if (!members.length || weightSum <= 0 || total <= 0) {
    for (const m of members) out.set(m.id, 0);
    return out;
  }
  const ideal = members.map((m) => ({ id: m.id, exact: (total * m.weight) / weightSum }));
  let left = total;
  for (const i of ideal) {
    const base = Math.floor(i.exact);
    out.set(i.id, base);
    left -= base;
  }
  const byRemainder = [...ideal].sort(
    (a, b) =>
      b.exact - Math.floor(b.exact) - (a.exact - Math.floor(a.exact)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  for (let k = 0; k < left; k++) {
    const id = byRemainder[k % byRemainder.length].id;
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

export type ShareDecision = {
  target: number;
  /** take numbers at a scan while holding fewer than this */
  acquireLimit: number;
  /** hand one number over now (rate permitting) */
  shed: boolean;
};

/**
 * `self`'s view of the fleet. Above its target by more than `tolerance` it hands numbers over;
 * above its target at all, only while another worker is below its own (so 11/10/9 settles at
 * 10/10/10 and 11/10/10 stays put: no oscillation). While another worker is below target, this
 * one takes nothing beyond its target, so a released number goes to the one that needs it; else
 * it takes up to `tolerance` more, so an orphaned number (a worker died) is always picked up.
 */
export function decideShare(self: string, total: number, members: FleetMember[], tolerance = 1): ShareDecision {
  const targets = targetShares(total, members);
  const me = members.find((m) => m.id === self);
  const target = targets.get(self) ?? 0;
  const held = me?.held ?? 0;
  const othersBelow = members.some((m) => m.id !== self && m.held < (targets.get(m.id) ?? 0));
  return {
    target,
    acquireLimit: othersBelow ? target : target + tolerance,
    shed: held > target + tolerance || (held > target && othersBelow),
  };
}

/** Gap between two handovers of one worker: at most max(1, 5 % of the fleet's numbers) a minute. */
export function handoverGapMs(total: number, perMinute?: number): number {
  const rate = perMinute ?? Math.max(1, Math.floor(total * 0.05));
  return 60_000 / Math.max(1, rate);
}

/**
 * How many numbers to hand over at this scan, and the time the next credit counts from. Credit
 * accrues at one handover per `gapMs` and carries from scan to scan (less than one gap of it when
 * a scan could not use it all), so the rate is the configured one even when a scan comes less
 * often than a gap: one handover per scan would cap it at 12 a minute with scans every 5 s.
 * Credit never exceeds one scan interval plus one gap, so an idle spell never turns into a burst.
 */
export function handoversDue(
  nowMs: number,
  lastMs: number,
  gapMs: number,
  excess: number,
  scanEveryMs: number,
): { count: number; lastMs: number } {
  const credit = Math.min(nowMs - lastMs, scanEveryMs + gapMs);
  const count = Math.max(0, Math.min(excess, Math.floor(credit / gapMs)));
  const left = Math.min(credit - count * gapMs, gapMs - 1);
  return { count, lastMs: count > 0 ? nowMs - Math.max(0, left) : lastMs };
}
