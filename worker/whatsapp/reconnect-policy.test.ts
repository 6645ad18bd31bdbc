import { describe, expect, it } from "vitest";
import { backoffDelay, type CloseContext, decideOnClose, QR_EXPIRED } from "./reconnect-policy";

const b = { baseMs: 1000, capMs: 60_000, failAfter: 5, random: () => 1 };
const ctx = (c: Partial<CloseContext>): CloseContext => ({
  code: 428,
  registered: true,
  failures: 0,
  holdsLease: true,
  ...c,
});

describe("reconnect policy (whatsapp.md table)", () => {
  it("515 reconnects at once, without counting as a failure", () => {
    expect(decideOnClose(ctx({ code: 515, failures: 3 }), b)).toMatchObject({
      action: "reconnect",
      delayMs: 0,
      countsAsFailure: false,
    });
  });

  it.each([408, 428, 503, 500, undefined])(
    "%s is transient: exponential backoff, FAILED after N in a row, still retrying",
    (code) => {
      const first = decideOnClose(ctx({ code, failures: 0 }), b);
      expect(first).toMatchObject({ action: "reconnect", delayMs: 1000, status: "RECONNECTING" });
      expect(decideOnClose(ctx({ code, failures: 2 }), b)).toMatchObject({ delayMs: 4000 });
      expect(decideOnClose(ctx({ code, failures: 4 }), b)).toMatchObject({ action: "reconnect", status: "FAILED" });
      expect(decideOnClose(ctx({ code, failures: 40 }), b)).toMatchObject({
        action: "reconnect",
        status: "FAILED",
        delayMs: 60_000,
      });
    },
  );

  it("jitter keeps the delay within [half, full] of the step", () => {
    const lo = backoffDelay(3, { ...b, random: () => 0 });
    const hi = backoffDelay(3, { ...b, random: () => 1 });
    expect([lo, hi]).toEqual([2000, 4000]);
  });

  it("408 before anything is linked is an expired QR: stop cleanly and let the panel ask for a new one", () => {
    expect(decideOnClose(ctx({ code: 408, registered: false, qrRefsEnded: true }), b)).toEqual({
      action: "stop",
      status: "OFFLINE",
      lastError: QR_EXPIRED,
      desiredStopped: true,
      wipe: false,
    });
    // a connect timeout before any QR is only a transient failure
    expect(decideOnClose(ctx({ code: 408, registered: false, qrRefsEnded: false }), b)).toMatchObject({
      action: "reconnect",
    });
  });

  it("440 reconnects only while this worker holds the lease", () => {
    expect(decideOnClose(ctx({ code: 440, holdsLease: true }), b)).toMatchObject({ action: "reconnect" });
    expect(decideOnClose(ctx({ code: 440, holdsLease: false }), b)).toEqual({
      action: "stop",
      desiredStopped: false,
      wipe: false,
    });
  });

  it.each([401, 411])("%s wipes the session and marks LOGGED_OUT", (code) => {
    expect(decideOnClose(ctx({ code }), b)).toMatchObject({
      action: "stop",
      status: "LOGGED_OUT",
      wipe: true,
      desiredStopped: true,
    });
  });

  it("403 stops as BANNED and keeps the session", () => {
    expect(decideOnClose(ctx({ code: 403 }), b)).toMatchObject({
      action: "stop",
      status: "BANNED",
      wipe: false,
      desiredStopped: true,
    });
  });
});
