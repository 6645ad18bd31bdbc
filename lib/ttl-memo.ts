// A per-process memo for values read often and changed rarely (a location's or number's settings
// on the per-message path): each key is loaded at most once per `ttlMs`, concurrent callers share
// one load, and a failed load is not remembered. A change made elsewhere is seen within `ttlMs`.
export function ttlMemo<V>(ttlMs: number, load: (key: string) => Promise<V>, max = 10_000) {
  const m = new Map<string, { until: number; value: Promise<V> }>();
  return (key: string): Promise<V> => {
    const now = Date.now();
    const hit = m.get(key);
    if (hit && hit.until > now) return hit.value;
    if (m.size >= max) m.delete(m.keys().next().value as string); // oldest first
    const value = load(key);
    m.set(key, { until: now + ttlMs, value });
    value.catch(() => {
      if (m.get(key)?.value === value) m.delete(key);
    });
    return value;
  };
}
