import { describe, expect, it } from "vitest";
import { requestIdFrom } from "./request-id";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const of = (v?: string) => requestIdFrom(new Headers(v === undefined ? {} : { "x-request-id": v }));

describe("requestIdFrom", () => {
  it("keeps a caller's id in the safe form (≤ 64 of A-Z a-z 0-9 . _ -)", () => {
    for (const v of ["abc", "req-1.2_3", "0f8fad5b-d9cb-469f-a165-70867728950e", "a".repeat(64)]) expect(of(v)).toBe(v);
  });

  it("replaces anything else with a fresh UUID", () => {
    const bad = [
      "",
      "a".repeat(65),
      "has space",
      'quote"d',
      "x\ty",
      "new\u0085line",
      '{"level":60}',
      "../../etc",
      "é",
      "a,b",
      "a;b",
      "%0d%0a",
    ];
    for (const v of bad) {
      const id = of(v);
      expect(id, v).toMatch(uuid);
      expect(id).not.toBe(v);
    }
    expect(of()).toMatch(uuid);
  });
});
