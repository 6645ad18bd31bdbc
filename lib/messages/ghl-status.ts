import type { Queue } from "bullmq";
import type { Db } from "../db";
import { enqueueGhl, ghlJobId } from "../queue/ghl-jobs";

// Outbound statuses in GHL, durably: a status job lives in Redis, and a Redis emptied by a
// failover (or refusing the enqueue for a moment) would lose it while Postgres already says
// DELIVERED. So Postgres also records what GHL acknowledged (`ghlStatus`), and a sweep queues
// again every status GHL has not acknowledged. Pushing a status twice is harmless (GHL's status
// update is idempotent); job ids keep one job per message and status while it exists.

const RANK = { DELIVERED: 1, READ: 2, FAILED: 3 } as const;
type Pushed = keyof typeof RANK;
const fromJob = { delivered: "DELIVERED", read: "READ", failed: "FAILED" } as const;

/** GHL took this status for the message: remember it (never moving backwards). */
export async function markGhlStatus(
  db: Db,
  locationId: string,
  messageId: string,
  status: "delivered" | "read" | "failed" | "pending",
) {
  if (status === "pending") return;
  const s: Pushed = fromJob[status];
  await db.$executeRaw`
    UPDATE "Message" SET "ghlStatus" = ${s}::"MessageStatus"
    WHERE id = ${messageId} AND "locationId" = ${locationId}
      AND COALESCE(CASE "ghlStatus" WHEN 'DELIVERED' THEN 1 WHEN 'READ' THEN 2 WHEN 'FAILED' THEN 3 END, 0) < ${RANK[s]}`;
}

/** Queues the statuses GHL has not acknowledged, for messages updated more than `olderThanMs` ago. */
export async function requeueUnpushedStatuses(
  db: Db,
  queue: Queue,
  olderThanMs = 60_000,
  limit = 500,
): Promise<number> {
  const rows = await db.$queryRaw<
    { id: string; locationId: string; ghlMessageId: string; status: Pushed; error: string | null }[]
  >`
    SELECT id, "locationId", "ghlMessageId", status::text AS status, error FROM "Message"
    WHERE direction = 'OUTBOUND' AND "ghlMessageId" IS NOT NULL AND status IN ('DELIVERED', 'READ', 'FAILED')
      AND "ghlStatus" IS DISTINCT FROM status AND "updatedAt" < ${new Date(Date.now() - olderThanMs)}
    ORDER BY "updatedAt" LIMIT ${limit}`;
  let added = 0;
  for (const r of rows) {
    const job = {
      kind: "status" as const,
      locationId: r.locationId,
      messageId: r.id,
      ghlMessageId: r.ghlMessageId,
      status:
        r.status === "READ"
          ? ("read" as const)
          : r.status === "DELIVERED"
            ? ("delivered" as const)
            : ("failed" as const),
      ...(r.status === "FAILED" && r.error ? { error: r.error } : {}),
    };
    // waiting, running or dead-lettered already: leave it to the queue (and to a person)
    if ((await queue.getJobState(ghlJobId(job))) !== "unknown") continue;
    await enqueueGhl(queue, job);
    added++;
  }
  return added;
}
