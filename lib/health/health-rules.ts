// A number's health, as pure rules of what it went through (docs/architecture.md#number-health,
// ADR 018): WhatsApp's error acks (463 above all: it refused the number starting a chat), its
// reconnects and logouts, how many of its new chats were answered, and how much of today's
// new-chat allowance it used. The inputs are read by ./number-health.ts; nothing here reads a clock.

const HOUR_MS = 60 * 60 * 1000;

export const HEALTH_STATES = ["healthy", "at_risk", "restricted"] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** The thresholds, in one place (documented in docs/architecture.md#number-health). */
export const HEALTH_RULES = {
  /** this many 463 acks within `restrictWindowMs` restrict the number */
  restrictAfter463: 3,
  restrictWindowMs: 24 * HOUR_MS,
  /** a restriction lifts after this long without a new 463 (the clean window) */
  recoveryMs: 24 * HOUR_MS,
  /** other error acks in the last 24 h that put a number at risk */
  otherAcksAtRisk: 3,
  /** reconnects in the last 24 h that put a number at risk */
  reconnectsAtRisk: 5,
  /** a logout or a ban this recent puts a number at risk */
  logoutWindowMs: 7 * 24 * HOUR_MS,
  /** of at least `minNewChatsForReplyRate` new chats in 7 days, fewer answered than this share */
  minReplyRate: 0.1,
  minNewChatsForReplyRate: 20,
  /** today's new chats at or above this share of the allowance */
  allowanceUseAtRisk: 0.9,
} as const;

export type HealthInputs = {
  numberName: string;
  /** the number's status: BANNED is restricted whatever else */
  status: string;
  /** when WhatsApp acked a message of this number with 463, the last 48 h (any order) */
  acks463: Date[];
  /** other error acks in the last 24 h */
  otherAcks24h: number;
  reconnects24h: number;
  /** the latest logout or ban, if any */
  lastLogoutAt: Date | null;
  /** new chats the number opened in the last 7 days, and how many of those contacts wrote back */
  newChats7d: number;
  answered7d: number;
  /** today's new chats and today's allowance of them (lib/governor/) */
  newChatsToday: number;
  newChatAllowance: number;
};

export type Health = {
  state: HealthState;
  /** in words a person reads; empty when healthy */
  reasons: string[];
  /** restricted by 463s: when the clean window ends and new chats may start again */
  restrictedUntil: Date | null;
  /** restricted: why, in a few words ("WhatsApp refused 3 of its new chats with error 463 within 24 h") */
  cause: string | null;
};

/** The number's health at `now`: the worst state any rule gives, with every reason found. */
export function assessHealth(x: HealthInputs, now: Date): Health {
  const R = HEALTH_RULES;
  const restricted: string[] = [];
  const atRisk: string[] = [];
  let restrictedUntil: Date | null = null;
  let cause: string | null = null;

  if (x.status === "BANNED") {
    restricted.push(`WhatsApp banned ${x.numberName}`);
    cause = "WhatsApp banned it";
  }

  const acks = x.acks463
    .map((d) => d.getTime())
    .filter((t) => t <= now.getTime())
    .sort((a, b) => a - b);
  const last = acks.at(-1);
  if (last !== undefined) {
    // a burst of 463s: as many as `restrictAfter463` within the window that ends at the latest one
    const burst = acks.filter((t) => t > last - R.restrictWindowMs).length;
    const until = last + R.recoveryMs;
    if (burst >= R.restrictAfter463 && now.getTime() < until) {
      restrictedUntil = new Date(until);
      cause ??= `WhatsApp refused ${burst} of its new chats with error 463 within 24 h`;
      restricted.push(
        `WhatsApp refused ${burst} new chats from ${x.numberName} with error 463 within 24 h; new chats pause until ${hhmm(restrictedUntil)} UTC (24 h without a new refusal)`,
      );
    } else if (now.getTime() - last < R.restrictWindowMs) {
      const n = acks.filter((t) => t > now.getTime() - R.restrictWindowMs).length;
      atRisk.push(
        `WhatsApp refused ${n} ${n === 1 ? "chat" : "chats"} from ${x.numberName} with error 463 in the last 24 h`,
      );
    } else if (burst >= R.restrictAfter463 && now.getTime() - until < R.recoveryMs) {
      atRisk.push(`${x.numberName} is recovering from a restriction that ended at ${hhmm(new Date(until))} UTC`);
    }
  }
  if (x.otherAcks24h >= R.otherAcksAtRisk)
    atRisk.push(`${x.otherAcks24h} messages of ${x.numberName} were refused by WhatsApp in the last 24 h`);
  if (x.reconnects24h >= R.reconnectsAtRisk)
    atRisk.push(`${x.numberName} reconnected ${x.reconnects24h} times in the last 24 h`);
  if (x.lastLogoutAt && now.getTime() - x.lastLogoutAt.getTime() < R.logoutWindowMs) {
    atRisk.push(`${x.numberName} was logged out or banned on ${x.lastLogoutAt.toISOString().slice(0, 10)}`);
  }
  if (x.newChats7d >= R.minNewChatsForReplyRate && x.answered7d < x.newChats7d * R.minReplyRate) {
    atRisk.push(`only ${x.answered7d} of ${x.newChats7d} new chats of the last 7 days were answered`);
  }
  if (x.newChatAllowance > 0 && x.newChatsToday >= x.newChatAllowance * R.allowanceUseAtRisk) {
    atRisk.push(`${x.numberName} used ${x.newChatsToday} of today's ${x.newChatAllowance} new chats`);
  }

  if (restricted.length) return { state: "restricted", reasons: [...restricted, ...atRisk], restrictedUntil, cause };
  if (atRisk.length) return { state: "at_risk", reasons: atRisk, restrictedUntil: null, cause: null };
  return { state: "healthy", reasons: [], restrictedUntil: null, cause: null };
}

/**
 * What a restricted number does with a first message to a new contact: it waits, with a reason a
 * person reads (like the governor's holds), until the restriction lifts. A ban has no end the
 * product knows: it waits a day and is judged again.
 */
export function restrictedHold(h: Health, numberName: string, now: Date): { until: Date; reason: string } | undefined {
  if (h.state !== "restricted") return undefined;
  const until = h.restrictedUntil ?? new Date(now.getTime() + 24 * HOUR_MS);
  return {
    until,
    reason: `${numberName} is restricted (${h.cause ?? h.reasons[0]}); new chats send at ${hhmm(until)} UTC or from another number`,
  };
}

function hhmm(d: Date): string {
  return d.toISOString().slice(11, 16);
}
