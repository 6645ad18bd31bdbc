import { describe, expect, it } from "vitest";
import { decideShare, type FleetMember, handoverGapMs, handoversDue, targetShares } from "./fair-share";

const fleet = (...held: number[]): FleetMember[] => held.map((h, i) => ({ id: `w${i}`, weight: 1, held: h }));

describe("targetShares", () => {
  it("splits equally and the targets always sum to the total", () => {
    expect([...targetShares(30, fleet(0, 0, 0)).values()]).toEqual([10, 10, 10]);
    for (const total of [0, 1, 7, 31, 100, 1001]) {
      for (const n of [1, 2, 3, 7]) {
        const t = [...targetShares(total, fleet(...Array(n).fill(0))).values()];
        expect(t.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...t) - Math.min(...t)).toBeLessThanOrEqual(total ? 1 : 0);
      }
    }
  });

  it("gives the remainder to the same workers whatever order they are listed in", () => {
    const a = targetShares(31, fleet(0, 0, 0));
    const b = targetShares(31, fleet(0, 0, 0).reverse());
    expect(a.get("w0")).toBe(11);
    expect(b).toEqual(a);
  });

  it("splits by weight", () => {
    const t = targetShares(30, [
      { id: "a", weight: 2, held: 0 },
      { id: "b", weight: 1, held: 0 },
    ]);
    expect(t.get("a")).toBe(20);
    expect(t.get("b")).toBe(10);
    const u = targetShares(10, [
      { id: "a", weight: 1.5, held: 0 },
      { id: "b", weight: 1, held: 0 },
      { id: "c", weight: 0.5, held: 0 },
    ]);
    expect([u.get("a"), u.get("b"), u.get("c")]).toEqual([5, 3, 2]);
  });
});

describe("decideShare", () => {
  it("a full worker hands over to a new empty one until both are at their share", () => {
    expect(decideShare("w0", 30, fleet(30, 0))).toMatchObject({ target: 15, shed: true });
    expect(decideShare("w0", 30, fleet(16, 14))).toMatchObject({ shed: true });
    expect(decideShare("w0", 30, fleet(15, 15))).toMatchObject({ shed: false });
  });

  it("tolerates one over its share while nobody is short (no oscillation)", () => {
    // 11/10/9 with a 10 target: the 11 sheds, since the 9 is short
    expect(decideShare("w0", 30, fleet(11, 10, 9)).shed).toBe(true);
    // 11/10/9 but nobody else short (31 numbers: targets 11/10/10)
    expect(decideShare("w0", 31, fleet(11, 10, 10)).shed).toBe(false);
    // one over while the others are at target: stays
    expect(decideShare("w0", 30, fleet(11, 10, 10)).shed).toBe(false);
    // two over: sheds whatever the others hold
    expect(decideShare("w0", 30, fleet(12, 10, 10)).shed).toBe(true);
  });

  it("takes up to its share while another is short, one more otherwise (orphans get picked up)", () => {
    expect(decideShare("w1", 30, fleet(11, 10, 9)).acquireLimit).toBe(10);
    expect(decideShare("w2", 30, fleet(11, 10, 9)).acquireLimit).toBe(11);
    expect(decideShare("w0", 30, fleet(10, 10, 10)).acquireLimit).toBe(11);
  });

  it("alone, a worker takes everything", () => {
    expect(decideShare("w0", 30, fleet(0))).toEqual({ target: 30, acquireLimit: 31, shed: false });
  });
});

describe("handoverGapMs", () => {
  it("allows max(1, 5 % of the numbers) a minute unless configured", () => {
    expect(handoverGapMs(10)).toBe(60_000);
    expect(handoverGapMs(1000)).toBe(1200);
    expect(handoverGapMs(1000, 600)).toBe(100);
  });
});

describe("handoversDue", () => {
  it("reaches the configured rate though scans come less often than a gap", () => {
    // 30 a minute (a 2 s gap), scans every 5 s, plenty above share: 30 in a minute, not 12
    let last = 0;
    let total = 0;
    for (let now = 5_000; now <= 600_000; now += 5_000) {
      const d = handoversDue(now, last, 2_000, 1_000, 5_000);
      total += d.count;
      last = d.lastMs;
    }
    expect(total).toBeGreaterThanOrEqual(295);
    expect(total).toBeLessThanOrEqual(302);
  });
  it("never bursts after an idle spell, and never hands over more than the excess", () => {
    expect(handoversDue(3_600_000, 0, 2_000, 1_000, 5_000).count).toBe(3);
    expect(handoversDue(3_600_000, 0, 2_000, 2, 5_000).count).toBe(2);
    expect(handoversDue(1_000, 0, 60_000, 5, 5_000)).toEqual({ count: 0, lastMs: 0 });
  });
});
