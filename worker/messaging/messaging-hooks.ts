import type { BinaryNode, WAMessage, WASocket } from "@whiskeysockets/baileys";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { alertOnRestriction } from "@/lib/alerts/alert-on-restriction";
import { learnLidMapping } from "@/lib/contacts/lid-contacts";
import type { Db } from "@/lib/db";
import { ghlClient } from "@/lib/ghl/client";
import { readInstanceSettings } from "@/lib/instances/instance-settings";
import { OUTBOUND_CHANNEL } from "@/lib/messages/outbound-signal";
import { markPending, noteReplaying } from "@/lib/messages/pending-inbound";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { subscribeWhenReady } from "@/lib/redis";
import { contactTags } from "@/lib/routing/contact-tags";
import { ttlMemo } from "@/lib/ttl-memo";
import { receiptsOf, type StoreBeforeAck } from "../whatsapp/store-before-ack";
import { historyListener } from "./history-hooks";
import {
  applyOrSpoolReceipts,
  handleUpsert,
  type InboundDeps,
  makeDurable,
  retrySpooled,
  spoolOrRetry,
} from "./inbound-handler";
import { backoffMs, InboundSpool } from "./inbound-spool";
import { OutboundSender, type SenderDeps } from "./outbound-sender";

// Joins the message flows to the socket lifecycle: from the moment a number's socket is created
// on this worker its messages and receipts are handled (Baileys may flush WhatsApp's offline
// replay before "open"), each made durable before WhatsApp is told we have it
// (worker/whatsapp/store-before-ack.ts); when the socket opens its send loop starts; when it
// closes, the loop stops.
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
  clock?: SenderDeps["clock"];
  /** a GHL contact's tags (routing by tag); default: GHL's contacts API through the one client, cached */
  contactTags?: SenderDeps["contactTags"];
  /** how long a number stays not ONLINE before its messages go from another (default 30 s) */
  offlineGraceMs?: SenderDeps["offlineGraceMs"];
  /** how often the inbound spool is looked at (default 1 s), and its backoff */
  spoolEveryMs?: number;
  spool?: ConstructorParameters<typeof InboundSpool>[1];
  /** largest inbound attachment imported (InboundDeps.maxMediaBytes; default 100 MB) */
  maxMediaBytes?: number;
  /** tests only: runs after decryption, before anything is stored (e.g. to kill the process there) */
  beforeStore?: (m: WAMessage) => void;
}) {
  const open = new Map<string, { sock: WASocket; ctx: SessionCtx }>();
  let stopRestrictionAlerts: (() => void) | undefined;
  // asked on every inbound message: a change in the number's settings is used within 5 s
  const groupsMemo = ttlMemo(5000, (key) => {
    const [locationId, instanceId] = key.split("\n");
    return groupsEnabled(d.db, locationId, instanceId);
  });
  const groupsOn = (c: SessionCtx) => groupsMemo(`${c.locationId}\n${c.instanceId}`);
  // ids of our own recent sends, so their fromMe echoes are skipped without a query
  const ownSends = new Set<string>();
  const rememberOwn = (id: string) => {
    ownSends.add(id);
    if (ownSends.size > 20_000)
      for (const old of ownSends) {
        ownSends.delete(old);
        if (ownSends.size <= 15_000) break;
      }
  };
  const sender = new OutboundSender({
    db: d.db,
    redis: d.redis,
    notifyGhl: d.notifyGhl,
    log: d.log.child({ part: "sender" }),
    cfg: d.cfg,
    pollMs: d.pollMs,
    clock: d.clock,
    onSending: rememberOwn,
    offlineGraceMs: d.offlineGraceMs,
    contactTags:
      d.contactTags ?? ((loc, id) => contactTags(d.redis, ghlClient(loc, { db: d.db, redis: d.redis }), loc, id)),
    sockets: (id) => {
      const s = open.get(id);
      return s ? { sock: s.sock as never, online: true } : undefined;
    },
  });

  const spool = new InboundSpool(d.redis, d.spool);
  const inboundDeps: InboundDeps = {
    db: d.db,
    notifyGhl: d.notifyGhl,
    log: d.log,
    spool,
    isOwnSend: (id) => ownSends.has(id),
    maxMediaBytes: d.maxMediaBytes,
    mediaAllowedOrigins: d.cfg.MEDIA_URL_ALLOWED_ORIGINS,
  };
  // the spool's due entries for the numbers whose sockets this worker holds, one pass at a time
  let draining = false;
  const drain = async () => {
    if (draining || !open.size) return;
    draining = true;
    try {
      for (const e of await spool.due((id) => open.has(id))) {
        const live = open.get(e.instanceId);
        if (!live) continue;
        const groups = await groupsOn(live.ctx);
        await retrySpooled({ ...inboundDeps, spool }, { ...live.ctx, groups, sock: live.sock as never }, e);
      }
    } finally {
      draining = false;
    }
  };
  let drainTimer: NodeJS.Timeout | undefined;

  const onWake = (channel: string, instanceId: string) => {
    if (channel === OUTBOUND_CHANNEL) sender.wake(instanceId);
  };

  /** Tries until durable; gives up only when the socket is gone (WhatsApp then replays it). */
  const untilDurable = async (what: string, alive: () => boolean, once: () => Promise<boolean>) => {
    for (let attempt = 1; ; attempt++) {
      if (await once()) return true;
      if (!alive()) {
        d.log.warn({ what }, "socket closed before it could be made durable; WhatsApp replays it");
        return false;
      }
      await new Promise((r) => setTimeout(r, backoffMs(attempt, 500, 10_000)));
    }
  };

  const hooks = {
    /** A live 1:1 message, decrypted: durable before Baileys may acknowledge it. */
    async storeFirst(ctx: SessionCtx, sock: WASocket, m: WAMessage, alive: () => boolean): Promise<void> {
      d.beforeStore?.(m);
      const ok = await untilDurable(`message ${m.key.id}`, alive, async () => {
        // the number's settings unreadable (Postgres away) is no reason to lose the message: spool it
        const groups = await groupsOn(ctx).catch(() => false);
        return makeDurable(inboundDeps, { ...ctx, groups, sock: sock as never }, m);
      });
      if (!ok) throw new Error("the socket closed before the message could be stored");
    },
    /** A receipt stanza: its statuses durable before Baileys may acknowledge it. */
    async receiptFirst(ctx: SessionCtx, sock: WASocket, node: BinaryNode, alive: () => boolean): Promise<boolean> {
      const receipts = receiptsOf(node, sock.user ?? {});
      if (!receipts.length) return true;
      return untilDurable(`receipt ${node.attrs.id}`, alive, () => applyOrSpoolReceipts(inboundDeps, ctx, receipts));
    },
    /**
     * A contact's 1:1 stanza that did not decrypt: Baileys asks the phone for it again. Noted
     * before Baileys goes on to the contact's next message, so that one cannot overtake it on the
     * way to GHL (lib/messages/pending-inbound.ts). Best effort: without Redis it keeps only its place.
     */
    async undecryptable(ctx: SessionCtx, node: BinaryNode): Promise<void> {
      const a = node.attrs;
      if (!a.id || !a.from || !(a.from.endsWith("@s.whatsapp.net") || a.from.endsWith("@lid"))) return;
      const at = Number(a.t ?? 0) * 1000 || Date.now();
      await markPending(d.redis, ctx.locationId, [a.from, a.sender_pn, a.sender_lid], a.id, at).catch((err) =>
        d.log.warn(
          { err, ...ctx, waMessageId: a.id },
          "could not note an undecryptable message; its place in the order may be lost",
        ),
      );
    },
    /** The offline replay is being worked through: the number's GHL posts wait until it is quiet. */
    replaying(ctx: SessionCtx): void {
      void noteReplaying(d.redis, ctx.instanceId).catch((err) =>
        d.log.warn({ err, ...ctx }, "could not note the offline replay; order across it may be lost"),
      );
    },
    /** What we sent under this id, for a contact's retry request: text of the last 7 days. */
    async getMessage(ctx: SessionCtx, key: { id?: string | null }) {
      if (!key.id) return undefined;
      const m = await d.db.message.findFirst({
        where: {
          instanceId: ctx.instanceId,
          locationId: ctx.locationId,
          waMessageId: key.id,
          direction: "OUTBOUND",
          createdAt: { gt: new Date(Date.now() - 7 * 86_400_000) },
        },
        select: { text: true, mediaRef: true },
      });
      // media cannot be rebuilt (its keys were never kept): the contact's phone then shows it as lost
      if (!m || m.text == null || (m.mediaRef as { urls?: unknown[] } | null)?.urls?.length) return undefined;
      return { conversation: m.text };
    },
    /** Right after the socket is created, before anything can arrive on it. */
    onSocket(ctx: SessionCtx, sock: WASocket, early: StoreBeforeAck) {
      sock.ev.on("messages.upsert", ({ messages }) => {
        // every type: "notify" (live), "append" (WhatsApp's offline replay, the owner's phone, our
        // own sends' echoes, skipped by id); most were stored before Baileys acknowledged them
        // an error ack that lands while Baileys still buffers our own send is folded into that
        // send's upsert (status 0 on the message) instead of a messages.update
        const refused = messages
          .filter((m) => m.key.fromMe && m.key.id && m.status === 0)
          .map((m) => ({ waMessageId: m.key.id!, status: 0, code: m.messageStubParameters?.[0] }));
        if (refused.length)
          void untilDurable(
            `error ack ${refused[0].waMessageId}`,
            () => open.has(ctx.instanceId),
            () => applyOrSpoolReceipts(inboundDeps, ctx, refused),
          );
        const rest = messages.filter((m) => !early.takeStored(m.key.id));
        if (!rest.length) return;
        void groupsOn(ctx)
          .then((groups) => handleUpsert(inboundDeps, { ...ctx, groups, sock: sock as never }, rest))
          .catch(async (err) => {
            // not even the number's settings could be read (Postgres away): every message waits
            for (const m of rest) await spoolOrRetry(inboundDeps, ctx, m, err);
          })
          .catch((err) => d.log.error({ err, ...ctx, count: rest.length }, "inbound messages not recorded"));
      });
      // WhatsApp's history sync: each notification handled on its own, in order (history-hooks.ts)
      sock.ev.on(
        "messaging-history.set",
        historyListener(inboundDeps, ctx, sock, () => groupsOn(ctx)),
      );
      // WhatsApp says which phone a LID is (a contact known only by its LID shared its number):
      // the same contact, and the same GHL contact, get it
      sock.ev.on("lid-mapping.update", (mapping) => {
        void learnLidMapping(d.db, ctx.locationId, mapping)
          .then((c) => c && d.notifyGhl({ kind: "contact", locationId: ctx.locationId, ...c }))
          .catch((err) => d.log.warn({ err, ...ctx }, "LID mapping not applied to the contact"));
      });
      sock.ev.on("messages.update", (updates) => {
        d.log.debug(
          { ...ctx, updates: updates.map((u) => ({ id: u.key.id, fromMe: u.key.fromMe, status: u.update.status })) },
          "messages.update",
        );
        // delivered/read came through receiptFirst already; what is left here is an error ack
        // (status 0) for something we sent
        const errors = updates
          .filter((u) => u.key.fromMe && u.key.id && u.update.status === 0)
          .map((u) => ({ waMessageId: u.key.id!, status: 0, code: u.update.messageStubParameters?.[0] }));
        if (errors.length)
          void untilDurable(
            `error ack ${errors[0].waMessageId}`,
            () => open.has(ctx.instanceId),
            () => applyOrSpoolReceipts(inboundDeps, ctx, errors),
          );
      });
    },
    onOpen(ctx: SessionCtx, sock: WASocket) {
      open.set(ctx.instanceId, { sock, ctx });
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
      return sender.stop(ctx.instanceId);
    },
  };

  return {
    hooks,
    sender,
    spool,
    /** One pass over the spool now (tests; the timer does it every `spoolEveryMs`). */
    drainSpool: drain,
    async start() {
      // a number this worker's sends or receipts find restricted raises its alert
      stopRestrictionAlerts = alertOnRestriction(d.db, (err) => d.log.warn({ err }, "restriction alert not raised"));
      drainTimer = setInterval(
        () => void drain().catch((err) => d.log.warn({ err }, "inbound spool pass failed")),
        d.spoolEveryMs ?? 1000,
      );
      drainTimer.unref();
      d.subscriber.on("message", onWake);
      await subscribeWhenReady(d.subscriber, OUTBOUND_CHANNEL);
    },
    async stop() {
      clearInterval(drainTimer);
      stopRestrictionAlerts?.();
      sender.stopAll();
      d.subscriber.off("message", onWake);
      await d.subscriber.unsubscribe(OUTBOUND_CHANNEL).catch(() => {});
    },
  };
}

async function groupsEnabled(db: Db, locationId: string, instanceId: string): Promise<boolean> {
  return (await readInstanceSettings(db, locationId, instanceId)).groups;
}
