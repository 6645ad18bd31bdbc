import type { CacheStore } from "@whiskeysockets/baileys";

// The cache in front of a number's key store (makeCacheableSignalKeyStore's `_cache`), in place of
// the NodeCache Baileys makes by default, so that auth-state can drop what Postgres refused
// (ADR 007). Same lifetime as Baileys' default (5 minutes from the last set, reads do not extend
// it). Entries sit in the Map in order of their last set, which with one TTL is also the order in
// which they expire: every get and set first drops the expired ones from the front, so the cache
// holds only what was set within the TTL, without a timer per number.
export function keyCache(ttlMs = 5 * 60_000): CacheStore & { size(): number } {
  const m = new Map<string, { v: unknown; until: number }>();
  const sweep = (now: number) => {
    for (const [k, e] of m) {
      if (e.until > now) break;
      m.delete(k);
    }
  };
  return {
    get<T>(key: string) {
      sweep(Date.now());
      return m.get(key)?.v as T | undefined;
    },
    set<T>(key: string, v: T) {
      const now = Date.now();
      sweep(now);
      m.delete(key); // to the back: its expiry is now the latest
      m.set(key, { v, until: now + ttlMs });
    },
    del(key: string) {
      m.delete(key);
    },
    flushAll() {
      m.clear();
    },
    size: () => m.size,
  };
}
