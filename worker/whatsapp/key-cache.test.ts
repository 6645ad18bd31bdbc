import { afterEach, describe, expect, it, vi } from "vitest";
import { keyCache } from "./key-cache";

describe("keyCache", () => {
  afterEach(() => void vi.useRealTimers());

  it("keeps a value for the TTL from its last set, then drops it and everything older", () => {
    vi.useFakeTimers();
    const c = keyCache(1000);
    c.set("a", 1);
    vi.advanceTimersByTime(600);
    c.set("b", 2);
    c.set("a", 3); // set again: lives 1000 ms from now
    vi.advanceTimersByTime(600);
    expect([c.get("a"), c.get("b")]).toEqual([3, 2]);
    vi.advanceTimersByTime(500);
    expect([c.get("a"), c.get("b")]).toEqual([undefined, undefined]);
    expect(c.size()).toBe(0);
  });

  it("del and flushAll", () => {
    const c = keyCache();
    c.set("a", 1);
    c.set("b", 2);
    c.del("a");
    expect([c.get("a"), c.get("b")]).toEqual([undefined, 2]);
    c.flushAll();
    expect(c.size()).toBe(0);
  });
});
