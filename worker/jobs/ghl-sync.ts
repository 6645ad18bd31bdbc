import { type ConnectionOptions, DelayedError, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { inboundGate, positionOf, requeueUnqueuedInbound, wakeNextOfContact } from "@/lib/messages/ghl-order";
import {
  type GhlCall,
  loadInboundToPost,
  markNotPosted,
  postInboundToGhl,
  pushStatusToGhl,
  type SyncConfig,
  syncGhlContactPhone,
} from "@/lib/messages/ghl-post";
import { markGhlStatus, requeueUnpushedStatuses } from "@/lib/messages/ghl-status";
import { isReplaying, pendingHold } from "@/lib/messages/pending-inbound";
import { metrics } from "@/lib/ops/metrics";
import { fileDeadLetter } from "@/lib/queue/dead-letters";
import { GHL_JOB_DEFAULTS, GHL_QUEUE, ghlJobSchema } from "@/lib/queue/ghl-jobs";

// Consumer of the GHL queue: inbound posts and status updates. Failures throw, so BullMQ retries
// with exponential backoff (GHL_JOB_DEFAULTS); after the last attempt the job stays in the failed
// set — the dead-letter list the panel shows and replays.
//
// Inbound posts keep each contact's order (lib/messages/ghl-order.ts): a job whose contact has an
// earlier message still on its way steps aside (moved to delayed, which costs no attempt) and is
// woken when that one is posted. A job that has waited longer than `maxOrderWaitMs` is posted
// anyway: order is worth a delay, not a message stuck behind something that never ends.
const jobSeconds = metrics().histogram(
  "gw_ghl_job_seconds",
  "GHL queue jobs that succeeded, by kind: time in the handler",
);
const jobAge = metrics().histogram(
  "gw_ghl_job_age_seconds",
  "From enqueue to success of a GHL job (includes waits for order and retries)",
  [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
);

export function startGhlSyncWorker(d: {
  db: Db;
  connection: ConnectionOptions;
  /** where messages that are on their way again (a retry receipt) are noted (lib/messages/pending-inbound.ts) */
  pending?: Redis;
  ghlFor: (locationId: string) => GhlCall;
  cfg: SyncConfig;
  log: Logger;
  concurrency?: number;
  maxOrderWaitMs?: number;
  /** how often to queue inbound messages stored but never queued (a worker died in between), and statuses GHL never acknowledged */
  sweepEveryMs?: number;
  sweepOlderThanMs?: number;
  /** the queue this consumer adds to (re-queued messages); default: the GHL queue with GHL_JOB_DEFAULTS */
  queue?: Queue;
}) {
  const queue = d.queue ?? new Queue(GHL_QUEUE, { connection: d.connection, defaultJobOptions: GHL_JOB_DEFAULTS });
  const maxOrderWaitMs = d.maxOrderWaitMs ?? 15 * 60_000;
  const worker = new Worker(
    GHL_QUEUE,
    async (job, token) => {
      const data = ghlJobSchema.parse(job.data);
      const t0 = performance.now();
      const done = <T>(r: T) => (jobSeconds.observe({ kind: data.kind }, (performance.now() - t0) / 1000), r);
      const ghl = d.ghlFor(data.locationId);
      if (data.kind === "inbound") {
        // one read serves the order gate and the post
        const ref = { locationId: data.locationId, messageId: data.messageId };
        const m = await loadInboundToPost(d.db, ref);
        const position = m?.contact
          ? { contactId: m.contact.id, createdAt: m.createdAt, seq: m.seq, status: m.status }
          : null;
        let gate = await inboundGate(queue, position, m?.earlier ?? []);
        // an earlier message of the contact that WhatsApp delivered undecryptable is on its way again
        if (gate.go && d.pending && m?.contact && m.status === "RECEIVED") {
          const stored = async (waMessageId: string) =>
            (await d.db.message.count({ where: { locationId: m.locationId, waMessageId } })) > 0;
          const p = await pendingHold(
            d.pending,
            stored,
            m.locationId,
            { phone: m.contact.phone, lid: m.contactLid },
            m.createdAt.getTime(),
            m.waMessageId,
          );
          if (p) gate = { go: false, retryInMs: 500, blockedBy: `${p} (WhatsApp is sending it again)` };
          else if (await isReplaying(d.pending, m.instanceId))
            gate = { go: false, retryInMs: 500, blockedBy: "the number's offline replay" };
        }
        if (!gate.go && Date.now() - job.timestamp < maxOrderWaitMs) {
          await job.moveToDelayed(Date.now() + gate.retryInMs, token);
          throw new DelayedError(`waiting for ${gate.blockedBy}, earlier from the same contact`);
        }
        if (!gate.go)
          d.log.warn(
            { messageId: data.messageId, blockedBy: gate.blockedBy },
            "posting to GHL out of order: the earlier message is still not through",
          );
        const r = await postInboundToGhl(d.db, ghl, ref, d.cfg, m);
        await wakeNextOfContact(d.db, queue, position, r.next).catch((err) =>
          d.log.warn({ err }, "could not wake the next message"),
        );
        return done(r.result);
      }
      if (data.kind === "contact") return done(await syncGhlContactPhone(d.db, ghl, data.locationId, data.contactId));
      await pushStatusToGhl(ghl, data.ghlMessageId, data.status, data.error);
      await markGhlStatus(d.db, data.locationId, data.messageId, data.status);
      return done("status");
    },
    { connection: d.connection, concurrency: d.concurrency ?? 8 },
  );
  worker.on("completed", (job) =>
    jobAge.observe({ kind: String(job.data?.kind) }, (Date.now() - job.timestamp) / 1000),
  );
  worker.on("failed", (job, err) => {
    if (!job || err instanceof DelayedError) return;
    const last = job.attemptsMade >= (job.opts.attempts ?? 1);
    d.log[last ? "error" : "warn"](
      { err, jobId: job.id, locationId: job.data?.locationId, attempts: job.attemptsMade },
      last ? "GHL job dead-lettered" : "GHL job failed; will retry",
    );
    if (last && job.id && job.data?.locationId) {
      void fileDeadLetter(queue, String(job.data.locationId), job.id).catch((e) =>
        d.log.warn({ err: e }, "could not file a dead letter"),
      );
    }
    if (last && job.data?.kind === "inbound") {
      // visible in the message log; no longer holds back the contact's later messages
      const ref = { locationId: String(job.data.locationId), messageId: String(job.data.messageId) };
      void markNotPosted(d.db, ref, err.message)
        .then(async () => wakeNextOfContact(d.db, queue, await positionOf(d.db, ref.locationId, ref.messageId)))
        .catch((e) => d.log.warn({ err: e }, "could not mark a dead-lettered message"));
    }
  });
  worker.on("error", (err) => d.log.warn({ err }, "GHL queue worker error"));

  const sweep = async (): Promise<number> => {
    const n = await requeueUnqueuedInbound(d.db, queue, d.sweepOlderThanMs ?? 60_000).catch(
      (err) => (d.log.warn({ err }, "inbound sweep failed"), 0),
    );
    if (n) d.log.warn({ requeued: n }, "queued inbound messages that had been stored but not queued");
    const s = await requeueUnpushedStatuses(d.db, queue, d.sweepOlderThanMs ?? 60_000).catch(
      (err) => (d.log.warn({ err }, "status sweep failed"), 0),
    );
    if (s) d.log.warn({ requeued: s }, "queued statuses that GHL had not acknowledged");
    return n + s;
  };
  const sweeper = setInterval(() => void sweep(), d.sweepEveryMs ?? 60_000);
  sweeper.unref();
  void sweep();

  return {
    worker,
    sweep,
    stop: async () => {
      clearInterval(sweeper);
      await worker.close();
      if (!d.queue) await queue.close();
    },
  };
}
