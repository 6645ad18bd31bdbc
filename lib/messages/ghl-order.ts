import type { Queue } from "bullmq";
import type { Db } from "../db";
import { enqueueGhl, ghlJobId } from "../queue/ghl-jobs";

// GHL shows a conversation in the order messages are posted to it, and the GHL queue runs jobs in
// parallel (and retries them with backoff). So a WhatsApp message is posted only once every
// earlier message of the same contact (by WhatsApp time, then arrival: createdAt, seq) has been
// posted or has given up (dead letter). The gate also keeps two jobs of one new contact from both
// creating that contact and its conversation in GHL.

/** Where a message stands in its contact's posting order. */
export type Position = { contactId: string; createdAt: Date; seq: bigint; status: string };

export async function positionOf(db: Db, locationId: string, messageId: string): Promise<Position | null> {
  const m = await db.message.findFirst({
    where: { id: messageId, locationId },
    select: { contactId: true, createdAt: true, seq: true, status: true },
  });
  return m?.contactId ? { ...m, contactId: m.contactId } : null;
}

/** The contact's next message after `m` not in GHL yet. */
async function nextUnposted(db: Db, m: Position) {
  return db.message.findFirst({
    where: {
      contactId: m.contactId,
      status: "RECEIVED",
      // history rows are the history import's (lib/history/): they never hold a live one back
      history: false,
      OR: [{ createdAt: { gt: m.createdAt } }, { createdAt: m.createdAt, seq: { gt: m.seq } }],
    },
    orderBy: [{ createdAt: "asc" }, { seq: "asc" }],
    select: { id: true, locationId: true },
  });
}

export type Gate = { go: true } | { go: false; retryInMs: number; blockedBy: string };

/**
 * May the inbound message at `m` be posted now? Not while an earlier one of its contact is
 * waiting, running or retrying. An earlier one whose job is gone (the worker died between storing
 * it and queueing it) is queued again here, and this one waits for it.
 */
export async function inboundGate(
  queue: Queue,
  m: Position | null,
  earlier: { id: string; locationId: string }[],
): Promise<Gate> {
  if (!m || m.status !== "RECEIVED") return { go: true };
  // `earlier`: the contact's earlier messages not in GHL yet, oldest first, read with the message
  // itself (loadInboundToPost)
  for (const e of earlier) {
    const state = await queue.getJobState(ghlJobId({ kind: "inbound", locationId: e.locationId, messageId: e.id }));
    if (state === "failed" || state === "completed") continue; // a dead letter does not hold the rest back
    if (state === "unknown") await enqueueGhl(queue, { kind: "inbound", locationId: e.locationId, messageId: e.id });
    // an earlier job in backoff will not run for seconds; one waiting or running is about to finish
    return { go: false, retryInMs: state === "delayed" ? 2000 : 150, blockedBy: e.id };
  }
  return { go: true };
}

/**
 * After the message at `m` is posted (or given up): start the contact's next one now, not at its
 * next poll. `known`: that next message when the caller already read it (null: there is none).
 */
export async function wakeNextOfContact(
  db: Db,
  queue: Queue,
  m: Position | null,
  known?: { id: string; locationId: string } | null,
) {
  if (!m) return;
  const next = known === undefined ? await nextUnposted(db, m) : known;
  if (!next) return;
  const job = await queue.getJob(ghlJobId({ kind: "inbound", locationId: next.locationId, messageId: next.id }));
  if (job && (await job.isDelayed())) await job.promote().catch(() => {}); // it may have just started
}

/**
 * Inbound messages stored but never queued (the worker died between the two) and older than
 * `olderThanMs`: queued now. Idempotent: a message that has a job keeps that one job.
 */
export async function requeueUnqueuedInbound(db: Db, queue: Queue, olderThanMs = 60_000, limit = 500): Promise<number> {
  const rows = await db.message.findMany({
    where: { status: "RECEIVED", history: false, updatedAt: { lt: new Date(Date.now() - olderThanMs) } },
    orderBy: [{ createdAt: "asc" }, { seq: "asc" }],
    select: { id: true, locationId: true },
    take: limit,
  });
  let added = 0;
  for (const r of rows) {
    const id = ghlJobId({ kind: "inbound", locationId: r.locationId, messageId: r.id });
    if ((await queue.getJobState(id)) !== "unknown") continue;
    await enqueueGhl(queue, { kind: "inbound", locationId: r.locationId, messageId: r.id });
    added++;
  }
  return added;
}
