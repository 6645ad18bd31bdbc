import { describe, expect, it } from "vitest";
import { DEFAULT_RAMP, dailyAllowance, decide, numberAgeDays, utcDay, WARMUP_PERCENT } from "./allowance";
import { warmupPercent } from "./governor-settings";

const at = (iso: string) => new Date(iso);

describe("the warm-up ramp", () => {
  it("gives a number linked today the first week's allowance, rising each week up to the cap", () => {
    expect(dailyAllowance(0)).toEqual({ newChats: 20, messages: 200 });
    expect(dailyAllowance(6)).toEqual({ newChats: 20, messages: 200 });
    expect(dailyAllowance(7)).toEqual({ newChats: 40, messages: 400 });
    expect(dailyAllowance(14).newChats).toBe(80);
    expect(dailyAllowance(21).newChats).toBe(150);
    const cap = DEFAULT_RAMP[DEFAULT_RAMP.length - 1];
    expect(dailyAllowance(28)).toEqual(cap);
    expect(dailyAllowance(3650)).toEqual(cap);
    // never falls from one week to the next
    for (let d = 1; d < 60; d++)
      expect(dailyAllowance(d).newChats).toBeGreaterThanOrEqual(dailyAllowance(d - 1).newChats);
  });

  it("is scaled by the location's percent, within its bounds", () => {
    expect(dailyAllowance(0, 50)).toEqual({ newChats: 10, messages: 100 });
    expect(dailyAllowance(0, 150)).toEqual({ newChats: 30, messages: 300 });
    expect(dailyAllowance(0, 1)).toEqual(dailyAllowance(0, WARMUP_PERCENT.min));
    expect(dailyAllowance(0, 10_000)).toEqual(dailyAllowance(0, WARMUP_PERCENT.max));
  });

  it("reads the percent from the location's settings, a bad value falling back to 100", () => {
    expect(warmupPercent({ warmupPercent: 50 })).toBe(50);
    expect(warmupPercent({})).toBe(100);
    expect(warmupPercent(null)).toBe(100);
    expect(warmupPercent({ warmupPercent: 500 })).toBe(100);
    expect(warmupPercent({ warmupPercent: "50" })).toBe(100);
  });

  it("counts a number's age in whole days from its first link; never linked is new", () => {
    expect(numberAgeDays(null, at("2026-12-03T10:00:00Z"))).toBe(0);
    expect(numberAgeDays(at("2026-12-03T09:00:00Z"), at("2026-12-03T23:00:00Z"))).toBe(0);
    expect(numberAgeDays(at("2026-11-26T09:00:00Z"), at("2026-12-03T09:00:00Z"))).toBe(7);
    expect(numberAgeDays(at("2026-12-04T00:00:00Z"), at("2026-12-03T00:00:00Z"))).toBe(0);
  });

  it("takes 'today' as the UTC day", () => {
    expect(utcDay(at("2026-12-03T23:59:59.999Z"))).toEqual({
      start: at("2026-12-03T00:00:00Z"),
      end: at("2026-12-04T00:00:00Z"),
    });
    expect(utcDay(at("2026-12-31T00:00:00Z")).end).toEqual(at("2027-01-01T00:00:00Z"));
  });
});

describe("the governor's verdict", () => {
  const now = at("2026-12-03T15:00:00Z");
  const allowance = { newChats: 20, messages: 200 };

  it("lets a new chat go while the day's new chats are under the allowance, and counts it", () => {
    expect(
      decide({ numberName: "wa-01", allowance, usage: { newChats: 19, messages: 19 }, newChat: true, now }),
    ).toEqual({ send: true, newChat: true });
  });

  it("holds the 21st new chat until the next UTC day, with a reason a person reads", () => {
    expect(
      decide({ numberName: "wa-01", allowance, usage: { newChats: 20, messages: 20 }, newChat: true, now }),
    ).toEqual({
      send: false,
      until: at("2026-12-04T00:00:00Z"),
      heldAsNewChat: true,
      reason: "wa-01 has reached today's limit of new chats (20); sends at 00:00 UTC or from another number",
    });
  });

  it("never holds a reply by the new-chat allowance", () => {
    expect(
      decide({ numberName: "wa-01", allowance, usage: { newChats: 20, messages: 120 }, newChat: false, now }),
    ).toEqual({ send: true, newChat: false });
  });

  it("holds every message, replies too, once the day's messages are used up", () => {
    const v = decide({ numberName: "wa-02", allowance, usage: { newChats: 3, messages: 200 }, newChat: false, now });
    expect(v).toMatchObject({
      send: false,
      heldAsNewChat: false,
      reason: "wa-02 has reached today's limit of messages (200); sends at 00:00 UTC or from another number",
    });
  });
});
