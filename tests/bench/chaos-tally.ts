// The chaos run's counting (chaos.ts): from what was sent and what the far ends hold, per
// direction sent / accepted / lost / duplicated / out of order, lost statuses, and the time each
// fault took to recover from. Pure functions, so the rules are in one place.

/** A small seeded PRNG (mulberry32): the same seed, the same run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultRecord = {
  n: number;
  kind: "worker-kill" | "redis-wipe" | "postgres-stop" | "ghl-429" | "ghl-5xx";
  startedAt: number;
  /** when the fault was lifted: worker respawned, Redis/Postgres back, the burst queued in GHL */
  restoredAt: number;
  /** worker-kill: when the new worker answered /ready */
  readyAt?: number;
  detail?: string;
};
/** What a contact's inbox holds (in the order it arrived) */
export type OutboundArrival = { contact: number; tag: string; id: string; at: number };
/** What GHL received through /conversations/messages/inbound (in the order it arrived) */
export type InboundArrival = { tag: string; at: number };

type OutSent = {
  tag: string;
  contact: number;
  seq: number;
  sentAt: number;
  deliveryStatus: number | null;
  error?: string;
};
type InSent = { tag: string; contact: number; seq: number; sentAt: number; ok: boolean; error?: string };
type GhlOut = {
  body: string;
  statuses: { status: string; at: string }[];
  delivery?: { attempts: { at: string; status: number | null }[] };
};

const ok2xx = (s: number | null | undefined) => typeof s === "number" && s >= 200 && s < 300;

/**
 * Messages (of those expected, in the order they were expected) that arrived after one expected
 * later than them: per contact, first copies only.
 */
function outOfOrder(expected: string[], arrivals: string[]): string[] {
  const rank = new Map(expected.map((t, i) => [t, i]));
  const seen = new Set<string>();
  let max = -1;
  const late: string[] = [];
  for (const t of arrivals) {
    const r = rank.get(t);
    if (r === undefined || seen.has(t)) continue;
    seen.add(t);
    if (r < max) late.push(t);
    else max = r;
  }
  return late;
}

const countBy = (xs: string[]) => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

export function tally(i: {
  outSent: OutSent[];
  inSent: InSent[];
  outArrived: OutboundArrival[];
  inArrived: InboundArrival[];
  ghlOut: GhlOut[];
  acks: Map<string, { delivered?: number; read?: number; tag: string }>;
  faults: FaultRecord[];
  t0: number;
}) {
  // ---- GHL → WhatsApp. Accepted: some Delivery URL attempt was answered 2xx (GHL resends a 429,
  // nothing else; a message answered 5xx was refused, GHL shows it failed and never resends it).
  const ghlByTag = new Map(i.ghlOut.map((m) => [m.body, m]));
  const acceptedAt = new Map<string, number>();
  const rejectedStatuses: Record<string, number> = {};
  for (const s of i.outSent) {
    const g = ghlByTag.get(s.tag);
    const ok = g?.delivery?.attempts.find((a) => ok2xx(a.status));
    if (ok) acceptedAt.set(s.tag, Date.parse(ok.at));
    else if (!g && ok2xx(s.deliveryStatus)) acceptedAt.set(s.tag, s.sentAt);
    else {
      const last = g?.delivery?.attempts.at(-1)?.status ?? s.deliveryStatus;
      const k = String(last ?? s.error ?? "no answer");
      rejectedStatuses[k] = (rejectedStatuses[k] ?? 0) + 1;
    }
  }
  const outCounts = countBy(i.outArrived.map((a) => a.tag));
  const firstOutAt = new Map<string, number>();
  for (const a of i.outArrived)
    if (!firstOutAt.has(a.tag) || a.at < firstOutAt.get(a.tag)!) firstOutAt.set(a.tag, a.at);
  const outLost = [...acceptedAt.keys()].filter((t) => !outCounts.has(t));
  const outDup = [...outCounts].filter(([, n]) => n > 1);
  const rejectedButDelivered = i.outSent
    .filter((s) => !acceptedAt.has(s.tag) && outCounts.has(s.tag))
    .map((s) => s.tag);
  const outLate: string[] = [];
  const contacts = [...new Set([...i.outSent.map((s) => s.contact), ...i.inSent.map((s) => s.contact)])];
  for (const c of contacts) {
    // the order GHL handed them over in: when each was accepted (a resent 429 counts from its resend)
    const expected = i.outSent
      .filter((s) => s.contact === c && acceptedAt.has(s.tag))
      .sort((a, b) => acceptedAt.get(a.tag)! - acceptedAt.get(b.tag)! || a.seq - b.seq)
      .map((s) => s.tag);
    outLate.push(
      ...outOfOrder(
        expected,
        i.outArrived.filter((a) => a.contact === c).map((a) => a.tag),
      ),
    );
  }
  // statuses: what the contact acknowledged must reach GHL (read implies delivered)
  const ackedByTag = new Map<string, { delivered?: number; read?: number }>();
  for (const a of i.acks.values()) {
    const x = ackedByTag.get(a.tag) ?? {};
    x.delivered ??= a.delivered;
    x.read ??= a.read;
    ackedByTag.set(a.tag, x);
  }
  const deliveredLost: string[] = [];
  const readLost: string[] = [];
  for (const [tag, a] of ackedByTag) {
    const st = new Set((ghlByTag.get(tag)?.statuses ?? []).map((s) => s.status));
    if (a.delivered && !st.has("delivered") && !st.has("read")) deliveredLost.push(tag);
    if (a.read && !st.has("read")) readLost.push(tag);
  }
  const statusesLost = new Set([...deliveredLost, ...readLost]).size;
  // arrived but not yet read-acknowledged by the contact (the settle waits for the receipt loop)
  const unacked = [...outCounts.keys()].filter((t) => !ackedByTag.get(t)?.read).length;

  // ---- WhatsApp → GHL. Accepted: the simulator took the contact's message (the number was linked).
  const inOk = i.inSent.filter((s) => s.ok);
  const inCounts = countBy(i.inArrived.map((a) => a.tag));
  const firstInAt = new Map<string, number>();
  for (const a of i.inArrived) if (!firstInAt.has(a.tag)) firstInAt.set(a.tag, a.at);
  const inLost = inOk.filter((s) => !inCounts.has(s.tag)).map((s) => s.tag);
  const inDup = [...inCounts].filter(([, n]) => n > 1);
  const inLate: string[] = [];
  for (const c of contacts) {
    const expected = inOk
      .filter((s) => s.contact === c)
      .sort((a, b) => a.seq - b.seq)
      .map((s) => s.tag);
    const mine = new Set(expected);
    inLate.push(
      ...outOfOrder(
        expected,
        i.inArrived.filter((a) => mine.has(a.tag)).map((a) => a.tag),
      ),
    );
  }

  // ---- recovery: from the moment a fault was lifted to the arrival of the first message sent
  // after it began (skipping ones that never arrived); negative when one got through meanwhile
  const firstAfter = (sent: { tag: string; sentAt: number }[], arrivedAt: Map<string, number>, f: FaultRecord) => {
    const s = sent
      .filter((x) => x.sentAt >= f.startedAt && arrivedAt.has(x.tag))
      .sort((a, b) => a.sentAt - b.sentAt)[0];
    return s ? arrivedAt.get(s.tag)! - f.restoredAt : null;
  };
  const outAccepted = i.outSent.filter((s) => acceptedAt.has(s.tag));
  const recovery = i.faults.map((f) => ({
    n: f.n,
    kind: f.kind,
    atS: Math.round((f.startedAt - i.t0) / 100) / 10,
    detail: f.detail,
    liftedAfterMs: f.restoredAt - f.startedAt,
    ...(f.readyAt ? { workerReadyAfterMs: f.readyAt - f.restoredAt } : {}),
    outMs: firstAfter(outAccepted, firstOutAt, f),
    inMs: firstAfter(inOk, firstInAt, f),
  }));

  const dupSum = (d: [string, number][]) => d.reduce((a, [, n]) => a + n - 1, 0);
  // every lost one with when it was sent (s after the chaos began), to line up with `recovery`
  const sentAt = new Map<string, number>([...i.outSent, ...i.inSent].map((x) => [x.tag, x.sentAt]));
  const head = (xs: string[]) =>
    xs.map((t) => (sentAt.has(t) ? `${t}@${Math.round((sentAt.get(t)! - i.t0) / 100) / 10}s` : t));
  return {
    counts: {
      out: {
        sent: i.outSent.length,
        accepted: acceptedAt.size,
        rejected: i.outSent.length - acceptedAt.size,
        rejectedStatuses,
        arrived: outCounts.size,
        lost: outLost.length,
        duplicated: dupSum(outDup),
        outOfOrder: outLate.length,
        rejectedButDelivered: rejectedButDelivered.length,
        acked: [...ackedByTag.values()].filter((a) => a.delivered).length,
        statusesLost,
        deliveredLost: deliveredLost.length,
        readLost: readLost.length,
      },
      in: {
        sent: i.inSent.length,
        accepted: inOk.length,
        sendErrors: i.inSent.length - inOk.length,
        arrived: inCounts.size,
        lost: inLost.length,
        duplicated: dupSum(inDup),
        outOfOrder: inLate.length,
      },
    },
    unacked,
    recovery,
    details: {
      outLost: head(outLost),
      outDuplicated: head(outDup.map(([t, n]) => `${t}×${n}`)),
      outOutOfOrder: head(outLate),
      rejectedButDelivered: head(rejectedButDelivered),
      deliveredLost: head(deliveredLost),
      readLost: head(readLost),
      inLost: head(inLost),
      inDuplicated: head(inDup.map(([t, n]) => `${t}×${n}`)),
      inOutOfOrder: head(inLate),
      inSendErrors: head(i.inSent.filter((s) => !s.ok).map((s) => `${s.tag}: ${s.error}`)),
    },
  };
}
