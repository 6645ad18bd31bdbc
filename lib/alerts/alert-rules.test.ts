import { describe, expect, it } from "vitest";
import { alertOnStatus, defaultReason, repeatsLast, stillDisconnected } from "./alert-rules";

describe("alertOnStatus", () => {
  it("alerts at once for a logout and a ban", () => {
    expect(alertOnStatus("LOGGED_OUT")).toEqual({ kind: "now", status: "LOGGED_OUT" });
    expect(alertOnStatus("BANNED")).toEqual({ kind: "now", status: "BANNED" });
  });
  it("waits out the grace for a reconnect or repeated failures", () => {
    expect(alertOnStatus("RECONNECTING")).toEqual({ kind: "after-grace" });
    expect(alertOnStatus("FAILED")).toEqual({ kind: "after-grace" });
  });
  it("raises nothing for linking, online, or a person's stop", () => {
    for (const s of ["QR", "CONNECTING", "ONLINE", "OFFLINE"] as const)
      expect(alertOnStatus(s)).toEqual({ kind: "none" });
  });
});

describe("stillDisconnected", () => {
  it("is true while the number is between attempts, false once it is back or stopped", () => {
    expect(stillDisconnected("RECONNECTING")).toBe(true);
    expect(stillDisconnected("FAILED")).toBe(true);
    expect(stillDisconnected("CONNECTING")).toBe(true);
    expect(stillDisconnected("ONLINE")).toBe(false);
    expect(stillDisconnected("OFFLINE")).toBe(false);
    // a logout during the grace has its own alert
    expect(stillDisconnected("LOGGED_OUT")).toBe(false);
    expect(stillDisconnected(undefined)).toBe(false);
  });
});

describe("repeatsLast: once per transition", () => {
  const at = new Date("2026-12-04T10:00:00Z");
  const last = { status: "DISCONNECTED", createdAt: at };
  it("a first alert is never a repeat", () => {
    expect(repeatsLast(null, "DISCONNECTED", null)).toBe(false);
  });
  it("the same status without an ONLINE since is a repeat", () => {
    expect(repeatsLast(last, "DISCONNECTED", null)).toBe(true);
    expect(repeatsLast(last, "DISCONNECTED", new Date("2026-12-04T09:00:00Z"))).toBe(true);
    expect(repeatsLast(last, "DISCONNECTED", at)).toBe(true);
  });
  it("the same status after the number was ONLINE again is a new transition", () => {
    expect(repeatsLast(last, "DISCONNECTED", new Date("2026-12-04T10:05:00Z"))).toBe(false);
  });
  it("another status is a new transition (disconnected, then logged out)", () => {
    expect(repeatsLast(last, "LOGGED_OUT", null)).toBe(false);
  });
});

describe("repeatsLast for RESTRICTED: the caller's transition decides", () => {
  const at = new Date("2026-12-04T10:00:00Z");
  const last = { status: "RESTRICTED", createdAt: at };
  it("a restriction that began before the last alert is the same one", () => {
    expect(repeatsLast(last, "RESTRICTED", null, new Date("2026-12-04T09:59:00Z"))).toBe(true);
  });
  it("a restriction that began after it (the number recovered meanwhile) is new, though it never went offline", () => {
    expect(repeatsLast(last, "RESTRICTED", new Date("2026-12-01T00:00:00Z"), new Date("2026-12-04T11:00:00Z"))).toBe(
      false,
    );
  });
  it("without `since`, each call is a transition", () => {
    expect(repeatsLast(last, "RESTRICTED", null)).toBe(false);
  });
});

describe("defaultReason", () => {
  it("has a sentence for every status", () => {
    for (const s of ["DISCONNECTED", "LOGGED_OUT", "BANNED", "RESTRICTED"] as const)
      expect(defaultReason(s).length).toBeGreaterThan(10);
  });
});
