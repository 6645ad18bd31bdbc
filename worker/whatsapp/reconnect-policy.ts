import type { InstanceStatusValue } from "@/lib/enum-schemas";

// What to do when a socket closes, by lastDisconnect statusCode (whatsapp.md, reconnect table).
// Pure, so every row of the table is unit-tested without a socket.

export type CloseContext = {
  code: number | undefined;
  /** creds name a linked account: a 408 then is a lost connection, not an expired QR */
  registered: boolean;
  /** Baileys ran out of QR refs (its 408 says "QR refs attempts ended"), as opposed to a connect timeout */
  qrRefsEnded?: boolean;
  /** transient failures in a row before this one */
  failures: number;
  holdsLease: boolean;
};

export type CloseDecision =
  | { action: "reconnect"; delayMs: number; status: InstanceStatusValue; lastError?: string; countsAsFailure: boolean }
  | { action: "stop"; status?: InstanceStatusValue; lastError?: string | null; desiredStopped: boolean; wipe: boolean };

export type BackoffOptions = { baseMs: number; capMs: number; failAfter: number; random?: () => number };
export const defaultBackoff: BackoffOptions = { baseMs: 1000, capMs: 60_000, failAfter: 5 };

export const QR_EXPIRED = "QR expired, request a new one";

export function decideOnClose(c: CloseContext, b: BackoffOptions = defaultBackoff): CloseDecision {
  switch (c.code) {
    case 515: // restartRequired: normal right after pairing
      return { action: "reconnect", delayMs: 0, status: "CONNECTING", countsAsFailure: false };
    case 401:
    case 411:
      return {
        action: "stop",
        status: "LOGGED_OUT",
        lastError: "the phone unlinked this number; scan a new QR",
        desiredStopped: true,
        wipe: true,
      };
    case 403:
      return {
        action: "stop",
        status: "BANNED",
        lastError: "WhatsApp refused this number (banned or blocked)",
        desiredStopped: true,
        wipe: false,
      };
    case 440:
      // someone else has the session: only fight for it if Redis says it is ours
      if (!c.holdsLease) return { action: "stop", desiredStopped: false, wipe: false };
      return transient(c, b, "connection replaced by another client");
    case 408:
      if (!c.registered && c.qrRefsEnded)
        return { action: "stop", status: "OFFLINE", lastError: QR_EXPIRED, desiredStopped: true, wipe: false };
      return transient(c, b, "connection timed out");
    default:
      return transient(c, b, c.code ? `connection closed (${c.code})` : "connection closed");
  }
}

function transient(c: CloseContext, b: BackoffOptions, reason: string): CloseDecision {
  const failures = c.failures + 1;
  const delayMs = backoffDelay(failures, b);
  if (failures >= b.failAfter)
    return {
      action: "reconnect",
      delayMs,
      status: "FAILED",
      lastError: `${reason}; ${failures} attempts in a row, still retrying`,
      countsAsFailure: true,
    };
  return { action: "reconnect", delayMs, status: "RECONNECTING", lastError: reason, countsAsFailure: true };
}

/** Exponential from baseMs, capped, with jitter in [½, 1] of the step so workers do not retry in lockstep. */
export function backoffDelay(attempt: number, b: BackoffOptions = defaultBackoff): number {
  const step = Math.min(b.capMs, b.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (b.random ?? Math.random)() * (step / 2));
}
