// The warm-up governor's rules, as pure functions of a number's age, its use today and a clock
// (docs/architecture.md#warm-up-governor, ADR 016). A young number that opens many chats, or sends a
// backlog all at once, is what WhatsApp restricts and bans (docs/whatsapp.md#limits); so each
// number gets a daily allowance of new chats and of all messages that grows with its age.

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The default ramp, by week since the number was first linked: new chats (first messages to a
 * contact that never wrote to the number and was never messaged by it) and all messages per day.
 * The last step is the cap for every later week.
 */
export const DEFAULT_RAMP: readonly { newChats: number; messages: number }[] = [
  { newChats: 20, messages: 200 },
  { newChats: 40, messages: 400 },
  { newChats: 80, messages: 700 },
  { newChats: 150, messages: 1000 },
  { newChats: 250, messages: 1500 },
];

/** Bounds of the location's scaling of the ramp (percent of the defaults). */
export const WARMUP_PERCENT = { min: 25, max: 200, default: 100 } as const;

export type Allowance = { newChats: number; messages: number };
export type Usage = { newChats: number; messages: number };

/** Whole days since the number was first linked; a number never seen linked is as new as can be. */
export function numberAgeDays(firstLinkedAt: Date | null, now: Date): number {
  if (!firstLinkedAt) return 0;
  return Math.max(0, Math.floor((now.getTime() - firstLinkedAt.getTime()) / DAY_MS));
}

/** Today's allowance for a number `ageDays` old, scaled by the location's percent (clamped to its bounds). */
export function dailyAllowance(ageDays: number, percent: number = WARMUP_PERCENT.default): Allowance {
  const step = DEFAULT_RAMP[Math.min(Math.floor(Math.max(0, ageDays) / 7), DEFAULT_RAMP.length - 1)];
  const p = Math.min(WARMUP_PERCENT.max, Math.max(WARMUP_PERCENT.min, Math.round(percent))) / 100;
  return { newChats: Math.max(1, Math.floor(step.newChats * p)), messages: Math.max(1, Math.floor(step.messages * p)) };
}

/**
 * "Today" is the UTC day: the product stores no time zone per location, and one day for every
 * number makes "today's limit" mean the same in the panel, in GHL and in the logs.
 */
export function utcDay(now: Date): { start: Date; end: Date } {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { start: new Date(start), end: new Date(start + DAY_MS) };
}

/** `heldAsNewChat`: held by the new-chat allowance (a message from the contact releases it) */
export type Verdict =
  | { send: true; newChat: boolean }
  | { send: false; until: Date; reason: string; heldAsNewChat: boolean };

/**
 * Whether the next message may go now. A reply (the contact wrote to this number, or was already
 * messaged by it) is never held by the new-chat allowance, only by the one of all messages.
 * What is held waits for the next day, with a reason a person reads.
 */
export function decide(x: {
  numberName: string;
  allowance: Allowance;
  usage: Usage;
  newChat: boolean;
  now: Date;
}): Verdict {
  const { end } = utcDay(x.now);
  const hold = (what: string, limit: number): Verdict => ({
    send: false,
    until: end,
    heldAsNewChat: what === "new chats",
    reason: `${x.numberName} has reached today's limit of ${what} (${limit}); sends at 00:00 UTC or from another number`,
  });
  if (x.usage.messages >= x.allowance.messages) return hold("messages", x.allowance.messages);
  if (x.newChat && x.usage.newChats >= x.allowance.newChats) return hold("new chats", x.allowance.newChats);
  return { send: true, newChat: x.newChat };
}
