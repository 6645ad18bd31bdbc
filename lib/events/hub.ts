import type { Redis } from "ioredis";
import { childLogger } from "../log";
import { createRedis, subscribeWhenReady } from "../redis";
import type { WithheldEvent } from "./live-events";

// One Redis subscriber per app process, fanned out to every open panel stream: hundreds of
// panels cost one connection, not hundreds. Channels are subscribed while someone listens.
type Listener = (message: string) => void;

export class EventHub {
  private listeners = new Map<string, Set<Listener>>();
  constructor(private sub: Redis) {
    sub.on("message", (channel: string, message: string) => {
      for (const l of this.listeners.get(channel) ?? []) l(message);
    });
  }

  async listen(channel: string, l: Listener): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await subscribeWhenReady(this.sub, channel);
    }
    set.add(l);
    return async () => {
      const s = this.listeners.get(channel);
      if (!s) return;
      s.delete(l);
      if (s.size === 0) {
        this.listeners.delete(channel);
        await this.sub.unsubscribe(channel).catch(() => {});
      }
    };
  }

  listenerCount(channel: string) {
    return this.listeners.get(channel)?.size ?? 0;
  }
}

const g = globalThis as unknown as { __hub?: EventHub };
export function eventHub(): EventHub {
  g.__hub ??= new EventHub(createRedis({ maxRetriesPerRequest: null }));
  return g.__hub;
}

export type StreamGuard = {
  /** Is the credential that opened the stream still good (key not revoked, session not over)? */
  stillValid: () => Promise<boolean>;
  /** How often to ask while the stream is quiet; a QR or pairing code is always asked for first. */
  everyMs?: number;
  /**
   * May this caller see what links a phone (a QR, a pairing code)? Asked before each one; when not,
   * the event is relayed without it (`withheld: "admin_required"`), so the panel can say why.
   */
  mayLinkAPhone?: () => Promise<boolean>;
  /** Called once when the stream ends, however it ends (client gone, credential invalid). */
  onClose?: () => void | Promise<void>;
};

export const STREAM_RECHECK_MS = 30_000;

/**
 * An SSE response relaying one channel, with a heartbeat so proxies keep it open. With a guard,
 * the credential is checked again every `everyMs` and before each QR / pairing code is relayed:
 * once it fails (or the check itself fails) the stream says `event: end` and closes, so a revoked
 * key or an ended session stops receiving what links a phone to the number.
 *
 * `snapshot` (optional): messages that describe the present (the QR or pairing code waiting now),
 * read once the channel is subscribed and sent before anything live, through the same filter and
 * checks: a client that connects or reconnects gets them at once instead of at the next change,
 * and a change published meanwhile still arrives after them.
 */
export function sseResponse(
  hub: EventHub,
  channel: string,
  filter: (msg: string) => boolean = () => true,
  signal?: AbortSignal,
  guard?: StreamGuard,
  snapshot?: () => Promise<string[]>,
): Response {
  const enc = new TextEncoder();
  let stop: (() => Promise<void>) | undefined;
  let beat: NodeJS.Timeout | undefined;
  let recheck: NodeJS.Timeout | undefined;
  let closed = false;
  let ended = false;
  const onEnd = () => {
    if (ended) return;
    ended = true;
    void Promise.resolve(guard?.onClose?.()).catch(() => {});
  };
  // messages are relayed one after another, in order, each after any check it waits for
  let chain: Promise<void> = Promise.resolve();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (s: string) => {
        if (closed) return;
        try {
          controller.enqueue(enc.encode(s));
        } catch {
          /* closed */
        }
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(beat);
        clearInterval(recheck);
        void stop?.();
        onEnd();
        try {
          controller.close();
        } catch {}
      };
      const stillValid = async () => {
        if (!guard) return true;
        try {
          return await guard.stillValid();
        } catch {
          return false; // cannot tell: end it; the client reconnects and is authenticated afresh
        }
      };
      const endUnlessValid = async () => {
        if (closed || (await stillValid())) return true;
        send('event: end\ndata: {"reason":"credential_invalid"}\n\n');
        close();
        return false;
      };
      const relay = async (m: string) => {
        if (guard && linksAPhone(m)) {
          if (!(await endUnlessValid())) return;
          if (guard.mayLinkAPhone && !(await guard.mayLinkAPhone().catch(() => false)))
            return send(`data: ${withheld(m)}\n\n`);
        }
        send(`data: ${m}\n\n`);
      };
      send("retry: 3000\n\n");
      // live messages queue behind the snapshot, which is read only once subscribed: nothing
      // published in between is lost, and nothing older is sent after it
      let opened!: () => void;
      const gate = new Promise<void>((r) => (opened = r));
      chain = gate;
      stop = await hub.listen(channel, (m) => {
        if (!filter(m)) return;
        chain = chain.then(() => relay(m));
      });
      if (closed) void stop();
      void (async () => {
        try {
          for (const m of snapshot ? await snapshot() : []) if (filter(m)) await relay(m);
        } catch (err) {
          // the present could not be read: the live messages still come
          childLogger({ channel }).warn({ err }, "stream snapshot not sent");
        }
        opened();
      })();
      beat = setInterval(() => send(": keep-alive\n\n"), 15_000);
      if (guard)
        recheck = setInterval(
          () => void (chain = chain.then(() => endUnlessValid().then(() => {}))),
          guard.everyMs ?? STREAM_RECHECK_MS,
        );
      signal?.addEventListener("abort", close);
    },
    async cancel() {
      closed = true;
      clearInterval(beat);
      clearInterval(recheck);
      onEnd();
      await stop?.();
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}

/** The event without the QR or code: its type and number only. */
function withheld(message: string): string {
  const e = JSON.parse(message) as { type: WithheldEvent["type"]; instanceId: string; expiresAt?: string };
  const out: WithheldEvent = {
    type: e.type,
    instanceId: e.instanceId,
    expiresAt: e.expiresAt,
    withheld: "admin_required",
  };
  return JSON.stringify(out);
}

// A QR or a pairing code is what lets someone link their phone to the number.
function linksAPhone(message: string): boolean {
  try {
    const type = (JSON.parse(message) as { type?: unknown }).type;
    return type === "instance.qr" || type === "instance.pairing-code";
  } catch {
    return false;
  }
}
