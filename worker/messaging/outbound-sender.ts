import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { phoneToJid } from "@/lib/contacts/phone";
import type { Db } from "@/lib/db";
import { type Governed, governOutbound } from "@/lib/governor/governor";
import { noteHealth } from "@/lib/health/health-change";
import { restrictedHold } from "@/lib/health/health-rules";
import { readInstanceSettings } from "@/lib/instances/instance-settings";
import { fetchRemoteMedia } from "@/lib/media/fetch-remote";
import {
  claimNext,
  failOutbound,
  holdOutbound,
  markSent,
  markWaiting,
  moveOutbound,
  numbersWithWork,
  peekNext,
  type QueuedMessage,
  requeue,
  strandedMessages,
  waitedTooLong,
} from "@/lib/messages/outbound-queue";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import { metrics } from "@/lib/ops/metrics";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { gapFor, holdSlotAfterSend, reserveSendSlot } from "@/lib/queue/send-gap";
import { isGroup, mayRoute, numberToRouteTo } from "@/lib/routing/route-around";
import { numberForTags } from "@/lib/routing/tag-routes";
import { buildContent, kindOf } from "./content";

const sendSeconds = metrics().histogram(
  "gw_wa_send_seconds",
  "Time for a message to leave on WhatsApp (encrypt + send), by kind",
);
const sendOutcomes = metrics().counter("gw_wa_sends_total", "WhatsApp send attempts by result");
const governorHolds = metrics().counter(
  "gw_governor_held_total",
  "Messages the warm-up governor held for a later day, by the limit reached",
);
const routed = metrics().counter(
  "gw_messages_routed_total",
  "Messages moved to another number of their location, by why (tag, around)",
);

// Drains each owned number's queue (its QUEUED Message rows, oldest first; decision 002): one
// loop per number, so a slow or offline number never holds up another. Exactly once at the phone:
// the WhatsApp id is stored before the send, and a retry re-sends under the same id. The status
// rules are in lib/messages/outbound-queue.ts; this file keeps the loop, pacing and socket calls.

export type SendSocket = {
  sendMessage(jid: string, content: Record<string, unknown>, opts: { messageId: string }): Promise<unknown>;
  onWhatsApp(...jids: string[]): Promise<{ jid: string; exists: unknown }[] | undefined>;
  sendPresenceUpdate?(type: "composing" | "paused", jid: string): Promise<void>;
};
export type SocketLookup = (instanceId: string) => { sock: SendSocket; online: boolean } | undefined;

export type SenderDeps = {
  db: Db;
  redis: Redis;
  sockets: SocketLookup;
  notifyGhl: (job: GhlJob) => Promise<unknown>;
  log: Logger;
  cfg: {
    TEXT_DELAY_MS: number;
    MEDIA_DELAY_MS_MIN: number;
    MEDIA_DELAY_MS_MAX: number;
    MEDIA_URL_ALLOWED_ORIGINS: readonly string[];
  };
  /** how often an idle loop looks for work it was not told about (missed wake-ups) */
  pollMs?: number;
  maxAttempts?: number;
  /** told each WhatsApp id just before it is sent (its echo then needs no lookup) */
  onSending?: (waMessageId: string) => void;
  /** the governor's clock (its days and holds); tests inject one */
  clock?: () => Date;
  /** how long a number stays not ONLINE before its messages go from another (routing around trouble) */
  offlineGraceMs?: number;
  /** a GHL contact's tags, for routing by tag (lib/routing/contact-tags.ts); absent: no tag routing */
  contactTags?: (locationId: string, ghlContactId: string) => Promise<string[]>;
};

type LoopState = { stop: boolean; kicked: boolean; wake: () => void; done: Promise<void> };

export class OutboundSender {
  private loops = new Map<string, LoopState>();
  private sweeper?: NodeJS.Timeout;
  constructor(private d: SenderDeps) {}

  /** Called when this worker starts owning a number. */
  start(instanceId: string) {
    if (this.loops.has(instanceId)) return this.wake(instanceId);
    this.sweeper ??= setInterval(
      () => void this.sweep().catch((err) => this.d.log.warn({ err }, "outbound sweep failed")),
      this.d.pollMs ?? 5000,
    );
    this.sweeper.unref();
    const state: LoopState = { stop: false, kicked: false, wake: () => {}, done: Promise.resolve() };
    this.loops.set(instanceId, state);
    state.done = this.run(instanceId, state);
  }

  /** Resolves once the number's step in flight, if any, has settled (sent, failed or requeued). */
  stop(instanceId: string): Promise<void> {
    const s = this.loops.get(instanceId);
    if (!s) return Promise.resolve();
    s.stop = true;
    s.wake();
    this.loops.delete(instanceId);
    return s.done;
  }

  stopAll() {
    for (const id of [...this.loops.keys()]) this.stop(id);
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * The guarantee behind the wake-up hints: one query for all numbers this worker drives (not one
   * per number: 1,000 idle numbers would be 200 queries/s), waking those with messages to send —
   * including ones waiting for their number to come back online.
   */
  private async sweep() {
    for (const id of await numbersWithWork(this.d.db, [...this.loops.keys()], this.now())) this.wake(id);
    await this.rerouteStranded();
  }

  /**
   * Routing around an offline number (lib/routing/): no loop runs for it, so the sweep of a worker
   * driving one of its ONLINE siblings moves its untried messages, each to a number that can send
   * it now. Several workers may find the same message: the move is conditional, one wins.
   */
  private async rerouteStranded() {
    const stranded = await strandedMessages(
      this.d.db,
      [...this.loops.keys()],
      this.now(),
      this.d.offlineGraceMs ?? 30_000,
    );
    for (const m of stranded) {
      if (!m.contact || !mayRoute(m)) continue;
      const to = await numberToRouteTo(
        this.d.db,
        m.instanceId,
        { id: m.id, locationId: m.locationId, contactId: m.contact.id, settings: m.location.settings },
        this.now(),
      );
      if (to && (await this.move(m, m.instanceId, to.instanceId, "around"))) {
        this.d.log.info({ messageId: m.id, from: m.instanceId, to: to.instanceId }, "routed around an offline number");
      }
    }
  }

  wake(instanceId: string) {
    const s = this.loops.get(instanceId);
    if (!s) return;
    s.kicked = true; // a wake-up during a step is not lost: the loop looks again before idling
    s.wake();
  }

  private async run(instanceId: string, state: LoopState) {
    const log = this.d.log.child({ instanceId });
    while (!state.stop) {
      state.kicked = false;
      let worked = false;
      try {
        worked = await this.step(instanceId, log, state);
      } catch (err) {
        log.warn({ err }, "send loop step failed; retrying");
      }
      if (state.stop) break;
      if (!worked && !state.kicked) {
        // idle until a publish (message queued, number online) or the sweep wakes it
        await new Promise<void>((resolve) => {
          state.wake = resolve;
        });
      }
    }
  }

  /** Sends at most one message; true when the loop should look again at once. */
  private async step(instanceId: string, log: Logger, state: LoopState): Promise<boolean> {
    const { db } = this.d;
    const live = this.d.sockets(instanceId);
    if (!live?.online) {
      const waiting = await peekNext(db, instanceId);
      if (!waiting) return false;
      if (waitedTooLong(waiting, this.now().getTime())) {
        await this.fail(waiting, "The WhatsApp number stayed offline too long; the message was not sent");
        return true;
      }
      if (waiting.status === "QUEUED") await markWaiting(db, instanceId);
      return false;
    }
    // SENDING, with the WhatsApp id fixed before the bytes leave
    const next = await claimNext(db, instanceId, this.now());
    if (!next) return false;
    if (!next.contact) {
      await this.fail(next, "The message has no recipient");
      return true;
    }
    if (!next.contact.waJid && !next.contact.phone) {
      await this.fail(next, "The contact has neither a phone number nor a WhatsApp address");
      return true;
    }
    const governed: Governed = {
      id: next.id,
      locationId: next.locationId,
      contactId: next.contact.id,
      settings: next.location.settings,
    };
    // a contact with a GHL tag of the location's table goes from that tag's number (lib/routing/tag-routes.ts)
    if (await this.routeByTag(instanceId, next, log)) return true;
    // the warm-up governor: over the number's allowance for today, it waits (lib/governor/)
    const verdict = await governOutbound(db, instanceId, governed, this.now());
    let hold = verdict.send
      ? undefined
      : {
          until: verdict.until,
          reason: verdict.reason,
          asNewChat: verdict.heldAsNewChat,
          limit: verdict.heldAsNewChat ? "new_chats" : "messages",
        };
    if (verdict.send && verdict.newChat) {
      // a restricted number starts no new chat until it recovers (lib/health/)
      const { health } = await noteHealth(db, next.locationId, instanceId, this.now());
      const r = restrictedHold(health, health.numberName, this.now());
      if (r) hold = { ...r, asNewChat: true, limit: "restricted" };
    }
    if (hold) {
      if (mayRoute(next) && next.attempts === 1) {
        const to = await numberToRouteTo(db, instanceId, governed, this.now());
        if (to && (await this.move(next, instanceId, to.instanceId, "around"))) {
          log.info({ messageId: next.id, to: to.instanceId, why: hold.limit }, "routed around trouble");
          return true;
        }
      }
      await holdOutbound(db, this.d.notifyGhl, next, hold.until, hold.reason, hold.asNewChat);
      governorHolds.inc({ limit: hold.limit });
      log.info(
        { messageId: next.id, until: hold.until, limit: hold.limit },
        "held by the warm-up governor or the number's health",
      );
      return true;
    }
    const jid = next.contact.waJid ?? phoneToJid(next.contact.phone!);
    // a group's conversation is written to only while the number relays groups (its panel switch)
    if (jid.endsWith("@g.us") && !(await readInstanceSettings(db, next.locationId, instanceId)).groups) {
      await this.fail(next, GROUPS_OFF);
      return true;
    }
    if (!next.contact.waJid) {
      const found = await live.sock.onWhatsApp(jid).catch(() => undefined);
      if (found && !found.some((f) => f.exists)) {
        await this.fail(next, `${next.contact.phone} does not have WhatsApp`);
        return true;
      }
      if (found?.[0]?.jid)
        await db.contact.updateMany({
          where: { id: next.contact.id, locationId: next.locationId },
          data: { waJid: found[0].jid },
        });
    }
    const waMessageId = next.waMessageId!;

    const urls = ((next.mediaRef as { urls?: string[] } | null)?.urls ?? []).slice(0, 10);
    const gap = gapFor(urls.length ? "media" : "text", this.d.cfg);
    const wait = await reserveSendSlot(this.d.redis, instanceId, gap);
    // optional typing simulation: the contact sees "typing…" during the pacing wait
    const typing = next.location.settings.typingSimulation && !!live.sock.sendPresenceUpdate;
    if (typing) await live.sock.sendPresenceUpdate!("composing", jid).catch(() => {});
    if (wait > 0) await sleep(wait);
    if (typing) await live.sock.sendPresenceUpdate!("paused", jid).catch(() => {});
    if (state.stop) {
      // the number closed (or is being handed over) during the wait: not sent, the next owner
      // sends it under the same WhatsApp id, in its place in the queue
      await requeue(db, next, "The WhatsApp number was handed over before sending");
      return false;
    }
    const sendStart = performance.now();
    try {
      this.d.onSending?.(waMessageId);
      for (let i = 1; i < urls.length; i++) this.d.onSending?.(`${waMessageId}${i}`);
      if (!urls.length) {
        await live.sock.sendMessage(jid, { text: next.text ?? "" }, { messageId: waMessageId });
      } else {
        for (const [i, url] of urls.entries()) {
          const media = await fetchRemoteMedia(url, { allowedOrigins: this.d.cfg.MEDIA_URL_ALLOWED_ORIGINS });
          const content = buildContent(kindOf(next.type, media.contentType), media, i === 0 ? next.text : null);
          // extra attachments get derived ids; receipts are tracked on the first
          await live.sock.sendMessage(jid, content, { messageId: i === 0 ? waMessageId : `${waMessageId}${i}` });
        }
      }
    } catch (err) {
      await holdSlotAfterSend(this.d.redis, instanceId, gap).catch(() => {});
      sendOutcomes.inc({ result: "error" });
      const attempts = next.attempts; // counted by the claim
      const reason = err instanceof Error ? err.message : String(err);
      // WhatsApp refused the group's metadata (rc14 asks it before each group send): the number
      // is no longer in the group, or the group is gone; another try would be refused the same way
      if (jid.endsWith("@g.us") && [403, 404].includes(Number((err as { data?: unknown }).data))) {
        await this.fail(next, NOT_IN_GROUP);
      } else if ((err as { status?: number }).status === 422 || attempts >= (this.d.maxAttempts ?? 5)) {
        await this.fail(next, `Sending failed: ${reason}`);
      } else {
        log.warn({ err, attempts }, "send failed; will retry");
        await requeue(db, next, reason);
        // handed over meanwhile: the next owner retries; do not hold up the handover
        if (!state.stop) await sleep(Math.min(30_000, 1000 * 2 ** attempts));
      }
      return true;
    }
    await holdSlotAfterSend(this.d.redis, instanceId, gap).catch(() => {});
    sendSeconds.observe({ kind: urls.length ? "media" : "text" }, (performance.now() - sendStart) / 1000);
    sendOutcomes.inc({ result: "sent" });
    await markSent(db, next, { newChat: verdict.send && verdict.newChat, at: this.now() });
    // nothing else was waiting when this one was taken; one queued since then has woken the loop
    return next.more;
  }

  /**
   * First attempt of a message not routed yet, from a location with a tag table and a contact GHL
   * knows: its tags (cached) may send it to another number. GHL failing to answer is no reason to
   * hold the message: it goes from the number it has.
   */
  private async routeByTag(instanceId: string, m: QueuedMessage, log: Logger): Promise<boolean> {
    const routes = m.location.settings.tagRoutes;
    if (
      !this.d.contactTags ||
      m.routedBy !== null ||
      m.attempts !== 1 ||
      !routes.length ||
      !m.contact?.ghlContactId ||
      isGroup(m.contact)
    )
      return false;
    const tags = await this.d.contactTags(m.locationId, m.contact.ghlContactId).catch((err) => {
      log.warn({ err, messageId: m.id }, "contact tags not read from GHL; sending from the number it has");
      return [] as string[];
    });
    const to = numberForTags(routes, tags);
    if (!to || to === instanceId || !(await this.move(m, instanceId, to, "tag"))) return false;
    log.info({ messageId: m.id, to }, "routed by contact tag");
    return true;
  }

  private async move(
    m: { id: string; locationId: string },
    from: string,
    to: string,
    why: "tag" | "around",
  ): Promise<boolean> {
    if (!(await moveOutbound(this.d.db, m, from, to, why))) return false;
    routed.inc({ why });
    await publishOutboundQueued(this.d.redis, to).catch(() => {}); // a hint: the sweep finds it anyway
    return true;
  }

  private now(): Date {
    return this.d.clock?.() ?? new Date();
  }

  private fail(m: { id: string; locationId: string; ghlMessageId: string | null }, reason: string) {
    return failOutbound(this.d.db, this.d.notifyGhl, m, reason);
  }
}

const GROUPS_OFF =
  'Groups are off for this WhatsApp number: turn on "WhatsApp groups" for it in the panel to write to the group';

const NOT_IN_GROUP = "This WhatsApp number is not a member of the group any more (removed, or the group was deleted)";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
