import type { Queue } from "bullmq";
import { safeEqual } from "../crypto";
import type { Db } from "../db";
import { metrics, type Registry } from "./metrics";

// Figures every process can compute from shared state at scrape time: instances by status,
// messages by direction/status, GHL queue depth and the age of its oldest waiting job.
export function registerFleetGauges(r: Registry, deps: { db: Db; ghlQueue?: Queue }) {
  r.gauge("gw_instances", "WhatsApp numbers by status").collect(async () => {
    const rows = await deps.db.instance.groupBy({ by: ["status"], _count: { _all: true } });
    return rows.map((x) => ({ labels: { status: x.status }, value: x._count._all }));
  });
  // only what is still on its way (an index range, not the whole table at every scrape); totals of
  // what was sent are counters of the workers (gw_wa_sends_total)
  r.gauge("gw_messages_in_flight", "Messages not yet through, by direction and status").collect(async () => {
    const rows = await deps.db.message.groupBy({
      by: ["direction", "status"],
      _count: { _all: true },
      where: { status: { in: ["QUEUED", "WAITING", "SENDING", "RECEIVED"] } },
    });
    return rows.map((x) => ({ labels: { direction: x.direction, status: x.status }, value: x._count._all }));
  });
  r.gauge("gw_outbound_waiting_oldest_seconds", "Age of the oldest outbound message not yet sent").collect(async () => {
    const m = await deps.db.message.findFirst({
      where: { direction: "OUTBOUND", status: { in: ["QUEUED", "WAITING", "SENDING"] } },
      orderBy: { createdAt: "asc" },
      select: { createdAt: true },
    });
    return [{ labels: {}, value: m ? (Date.now() - m.createdAt.getTime()) / 1000 : 0 }];
  });
  if (deps.ghlQueue) {
    const q = deps.ghlQueue;
    r.gauge("gw_queue_jobs", "GHL queue jobs by state").collect(async () => {
      const c = await q.getJobCounts("waiting", "active", "delayed", "failed", "completed");
      return Object.entries(c).map(([state, value]) => ({ labels: { queue: q.name, state }, value }));
    });
    r.gauge("gw_queue_oldest_waiting_seconds", "Age of the oldest job waiting in the GHL queue").collect(async () => {
      const [oldest] = await q.getJobs(["waiting"], 0, 0, true);
      return [{ labels: { queue: q.name }, value: oldest ? (Date.now() - oldest.timestamp) / 1000 : 0 }];
    });
  }
}

/** Metrics are off without a token; with one, only `Authorization: Bearer <token>` reads them. */
export async function renderMetrics(
  token: string,
  authorization: string | null | undefined,
): Promise<{ status: number; body: string }> {
  if (!token) return { status: 404, body: "metrics are disabled: set METRICS_TOKEN\n" };
  if (!metricsAuthorized(token, authorization)) return { status: 401, body: "unauthorized\n" };
  return { status: 200, body: await metrics().render() };
}

/** `Authorization: Bearer <METRICS_TOKEN>`; never true while the token is unset. */
export function metricsAuthorized(token: string, authorization: string | null | undefined): boolean {
  if (!token) return false;
  const presented = authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ?? "";
  return safeEqual(presented, token);
}
