import type { CacheStore } from "@whiskeysockets/baileys";

// A small TTL cache for Baileys' msgRetryCounterCache, shared by every socket of one worker.
// In memory on purpose: retry counters only matter to the socket that is live right now.
export function memoryCache(ttlMs = 60 * 60_000, max = 50_000): CacheStore {
  const m = new Map<string, { v: unknown; until: number }>();
  return {
    get<T>(key: string) {
      const e = m.get(key);
      if (!e) return undefined;
      if (e.until < Date.now()) {
        m.delete(key);
        return undefined;
      }
      return e.v as T;
    },
    set<T>(key: string, v: T) {
      if (m.size >= max) m.delete(m.keys().next().value as string); // oldest first
      m.set(key, { v, until: Date.now() + ttlMs });
    },
    del(key: string) {
      m.delete(key);
    },
    flushAll() {
      m.clear();
    },
  };
}
