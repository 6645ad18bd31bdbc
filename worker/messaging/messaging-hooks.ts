import type { WASocket } from "@whiskeysockets/baileys";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { OUTBOUND_CHANNEL } from "@/lib/messages/outbound-signal";
import { ttlMemo } from "@/lib/ttl-memo";
import { handleUpsert, retrySpooled, spoolOrRetry } from "./inbound-handler";
import { InboundSpool } from "./inbound-spool";
import { OutboundSender, type SenderDeps } from "./outbound-sender";
import { applyReceipts } from "./receipts";
import { subscribeWhenReady } from "@/lib/redis";

// Joins the message flows to the socket lifecycle: when a number's socket opens on this worker,
// its send loop starts and its inbound/receipt events are handled; when it closes, both stop.
export type SessionCtx = { instanceId: string; locationId: string };

export function createMessaging(d: {
  db: Db;
  redis: Redis;
  /** a dedicated connection for the outbound wake-up channel */
  subscriber: Redis;
  notifyGhl: (j: GhlJob) => Promise<unknown>;
  log: Logger;
  cfg: SenderDeps["cfg"];
  pollMs?: number;
  /** how often the inbound spool is looked at (default 1 s), and its backoff */
  spoolEveryMs?: number;
  spool?: ConstructorParameters<typeof InboundSpool>[1];
}) {
  const open = new Map<string, { sock: WASocket; ctx: SessionCtx }>();
  // asked on every inbound message: a change in the number's settings is used within 5 s
  const groupsOn = ttlMemo(5000, (instanceId) => groupsEnabled(d.db, instanceId));
  const sender = new OutboundSender({
    db: d.db, redis: d.redis, notifyGhl: d.notifyGhl, log: d.log.child({ part: "sender" }), cfg: d.cfg, pollMs: d.pollMs,
    sockets: (id) => {
      const s = open.get(id);
      return s ? { sock: s.sock as never, online: true } : undefined;
    },
  });

  const spool = new InboundSpool(d.redis, d.spool);
  const inboundDeps = { db: d.db, notifyGhl: d.notifyGhl, log: d.log, spool };
  // the spool's due entries for the numbers whose sockets this worker holds, one pass at a time
  let draining = false;
  const drain = async () => {
    if (draining || !open.size) return;
    draining = true;
    try {
      for (const e of await spool.due((id) => open.has(id))) {
        const live = open.get(e.instanceId);
        if (!live) continue;
        const groups = await groupsOn(e.instanceId);
        await retrySpooled(inboundDeps, { ...live.ctx, groups, sock: live.sock as never }, e);
      }
    } finally {
      draining = false;
    }
  };
  let drainTimer: NodeJS.Timeout | undefined;

  const onWake = (channel: string, instanceId: string) => {
    if (channel === OUTBOUND_CHANNEL) sender.wake(instanceId);
  };

  const hooks = {
    onOpen(ctx: SessionCtx, sock: WASocket) {
      open.set(ctx.instanceId, { sock, ctx });
      sock.ev.on("messages.upsert", ({ messages, type }) => {
        // a receipt that lands while Baileys still buffers our own send is folded into that
        // message's upsert (status on the message) instead of a messages.update
        const folded = messages
          .filter((m) => m.key.fromMe && m.key.id && typeof m.status === "number" && m.status >= 3)
          .map((m) => ({ waMessageId: m.key.id!, status: m.status as number }));
        if (folded.length) void applyReceipts(d.db, ctx.instanceId, folded, d.notifyGhl).catch((err) => d.log.warn({ err, ...ctx }, "receipts not applied"));
        if (type !== "notify") return; // "append" is history (and our own sends)
        void groupsOn(ctx.instanceId)
          .then((groups) => handleUpsert(inboundDeps, { ...ctx, groups, sock: sock as never }, messages))
          .catch(async (err) => {
            // not even the number's settings could be read (Postgres away): every message waits
            for (const m of messages) await spoolOrRetry(inboundDeps, ctx, m, err);
          })
          .catch((err) => d.log.error({ err, ...ctx, count: messages.length }, "inbound messages not recorded"));
      });
      sock.ev.on("messages.update", (updates) => {
        d.log.debug({ ...ctx, updates: updates.map((u) => ({ id: u.key.id, fromMe: u.key.fromMe, status: u.update.status })) }, "messages.update");
        const receipts = updates
          .filter((u) => u.key.fromMe && u.key.id && typeof u.update.status === "number")
          .map((u) => ({ waMessageId: u.key.id!, status: u.update.status as number }));
        if (receipts.length) {
          void applyReceipts(d.db, ctx.instanceId, receipts, d.notifyGhl).catch((err) => d.log.warn({ err, ...ctx }, "receipts not applied"));
        }
      });
      sender.start(ctx.instanceId);
      // Baileys buffers events from connect until the server's end-of-offline marker; when that
      // marker is late or lost, receipts and messages sit in the buffer for up to 30 s. Flush it
      // ourselves shortly after open (a no-op when it already flushed).
      const t = setTimeout(() => {
        if (open.get(ctx.instanceId)?.sock === sock) (sock.ev as { flush?: () => unknown }).flush?.();
      }, 3000);
      t.unref();
    },
    onClose(ctx: SessionCtx) {
      open.delete(ctx.instanceId);
      sender.stop(ctx.instanceId);
    },
  };

  return {
    hooks,
    sender,
    spool,
    /** One pass over the spool now (tests; the timer does it every `spoolEveryMs`). */
    drainSpool: drain,
    async start() {
      drainTimer = setInterval(() => void drain().catch((err) => d.log.warn({ err }, "inbound spool pass failed")), d.spoolEveryMs ?? 1000);
      drainTimer.unref();
      d.subscriber.on("message", onWake);
      await subscribeWhenReady(d.subscriber, OUTBOUND_CHANNEL);
    },
    async stop() {
      clearInterval(drainTimer);
      sender.stopAll();
      d.subscriber.off("message", onWake);
      await d.subscriber.unsubscribe(OUTBOUND_CHANNEL).catch(() => {});
    },
  };
}

async function groupsEnabled(db: Db, instanceId: string): Promise<boolean> {
  const i = await db.instance.findUnique({ where: { id: instanceId }, select: { settings: true } });
  return (i?.settings as { groups?: unknown } | null)?.groups === true;
}
