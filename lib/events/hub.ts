import type { Redis } from "ioredis";
import { createRedis, subscribeWhenReady } from "../redis";

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

/** An SSE response relaying one channel, with a heartbeat so proxies keep it open. */
export function sseResponse(hub: EventHub, channel: string, filter: (msg: string) => boolean = () => true, signal?: AbortSignal): Response {
  const enc = new TextEncoder();
  let stop: (() => Promise<void>) | undefined;
  let beat: NodeJS.Timeout | undefined;
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (s: string) => {
        try {
          controller.enqueue(enc.encode(s));
        } catch {
          /* closed */
        }
      };
      send("retry: 3000\n\n");
      stop = await hub.listen(channel, (m) => {
        if (filter(m)) send(`data: ${m}\n\n`);
      });
      beat = setInterval(() => send(": keep-alive\n\n"), 15_000);
      signal?.addEventListener("abort", () => {
        clearInterval(beat);
        void stop?.();
        try {
          controller.close();
        } catch {}
      });
    },
    async cancel() {
      clearInterval(beat);
      await stop?.();
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" },
  });
}
