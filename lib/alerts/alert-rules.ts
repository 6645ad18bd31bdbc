import { z } from "zod";
import type { InstanceStatusValue } from "../enum-schemas";

// When a number's status raises an alert (docs/architecture.md#number-alerts). Pure, so every
// row is unit-tested without a socket:
// - LOGGED_OUT and BANNED alert at once: they need a person (a new scan, an appeal).
// - RECONNECTING and FAILED alert only if the number is still not back after the grace: WhatsApp
//   drops and restores sockets routinely (428, 515, 408), and a reconnect within seconds is no
//   news for anyone.
// - Everything else (QR, CONNECTING, ONLINE, OFFLINE: a person stopped it or a QR expired) raises
//   nothing.
// - Exactly once per transition: an alert of the same status is not raised again until the
//   number has been ONLINE since the last one.

export const alertStatusSchema = z.enum(["DISCONNECTED", "LOGGED_OUT", "BANNED", "RESTRICTED"]);
export type AlertStatus = z.infer<typeof alertStatusSchema>;

/** How long a number may be reconnecting before it is reported disconnected. */
export const DISCONNECT_GRACE_MS = 120_000;

export type AlertDecision = { kind: "now"; status: AlertStatus } | { kind: "after-grace" } | { kind: "none" };

export function alertOnStatus(status: InstanceStatusValue): AlertDecision {
  switch (status) {
    case "LOGGED_OUT":
      return { kind: "now", status: "LOGGED_OUT" };
    case "BANNED":
      return { kind: "now", status: "BANNED" };
    case "RECONNECTING":
    case "FAILED":
      return { kind: "after-grace" };
    default:
      return { kind: "none" };
  }
}

/** After the grace: is the number still away? (CONNECTING: between two attempts.) */
export function stillDisconnected(status: InstanceStatusValue | undefined): boolean {
  return status === "RECONNECTING" || status === "FAILED" || status === "CONNECTING";
}

/**
 * Whether a new alert would repeat the last one. For the connection statuses: same status, and
 * the number has not been ONLINE since it was raised (`connectedAt` is written at every ONLINE).
 * RESTRICTED is not about the connection (a restricted number stays ONLINE), so ONLINE says
 * nothing about its recovery: the caller, which sees the transition, says when this restriction
 * began (`since`), and only a RESTRICTED alert raised since then is a repeat; without `since`,
 * every call is a new transition.
 */
export function repeatsLast(
  last: { status: string; createdAt: Date } | null | undefined,
  status: AlertStatus,
  connectedAt: Date | null | undefined,
  since?: Date,
): boolean {
  if (!last || last.status !== status) return false;
  if (status === "RESTRICTED") return !!since && last.createdAt.getTime() >= since.getTime();
  return !connectedAt || connectedAt.getTime() <= last.createdAt.getTime();
}

/** The reason a person reads when the status carries none. */
export function defaultReason(status: AlertStatus): string {
  switch (status) {
    case "DISCONNECTED":
      return "the number lost its connection to WhatsApp and has not come back";
    case "LOGGED_OUT":
      return "the phone unlinked this number; scan a new QR";
    case "BANNED":
      return "WhatsApp refused this number (banned or blocked)";
    case "RESTRICTED":
      return "the number is restricted and stops starting new chats";
  }
}
