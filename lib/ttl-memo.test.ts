import { describe, expect, it, vi } from "vitest";
import { ttlMemo } from "./ttl-memo";

describe("ttlMemo", () => {
  it("loads a key once per TTL, shares a load in flight, and forgets failures", async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      let fail = false;
      const get = ttlMemo(1000, async (k: string) => {
        calls++;
        if (fail) throw new Error("down");
        return `${k}${calls}`;
      });
      expect(await Promise.all([get("a"), get("a")])).toEqual(["a1", "a1"]);
      expect(calls).toBe(1);
      vi.advanceTimersByTime(999);
      expect(await get("a")).toBe("a1");
      vi.advanceTimersByTime(2);
      expect(await get("a")).toBe("a2");
      fail = true;
      await expect(get("b")).rejects.toThrow("down");
      fail = false;
      expect(await get("b")).toBe("b4"); // the failure was not kept for the TTL
    } finally {
      vi.useRealTimers();
    }
  });
});
