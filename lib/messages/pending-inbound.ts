import type { Redis } from "ioredis";

// A contact's message that WhatsApp delivered but we could not decrypt yet (Baileys emits it as a
// CIPHERTEXT stub and sends a retry receipt; the contact's phone sends it again, see
// docs/decisions/010-signal-sessions-after-restart.md). Its later messages, which decrypt at once,
// must not reach GHL before it: GHL shows a conversation in the order messages are posted. So the
// stub is noted here, per location and contact, with its WhatsApp time; the GHL job of a later
// message of that contact waits while an earlier one is pending (lib/messages/ghl-order.ts does the
// rest once it is stored). A note ends when the GHL job finds the message stored (whichever worker
// stored it), or after PENDING_HOLD_MS: a phone that never resends must not hold the conversation
// back for long.
//
// In Redis, not Postgres: a note is worth only the hold, and losing one (a Redis wipe) costs at
// most that message's place in the order, never the message.

export const PENDING_HOLD_MS = 60_000;

const key = (locationId: string, user: string) => `gw:inbound:pending:${locationId}:${user}`;

/** The user part of a WhatsApp JID or a phone number: "15551234567@s.whatsapp.net", "123:4@lid", "+1 555…" → digits. */
export function contactUser(jidOrPhone: string | null | undefined): string | null {
  if (!jidOrPhone) return null;
  const user = jidOrPhone
    .split("@")[0]
    .split(":")[0]
    .replace(/[^0-9]/g, "");
  return user.length ? user : null;
}

const usersOf = (xs: (string | null | undefined)[]) => [
  ...new Set(xs.map(contactUser).filter((u): u is string => !!u)),
];

/** Notes that `waMessageId` (sent at `atMs`) of the contact known by these JIDs is on its way again. */
export async function markPending(
  redis: Redis,
  locationId: string,
  jids: (string | null | undefined)[],
  waMessageId: string,
  atMs: number,
  holdMs = PENDING_HOLD_MS,
): Promise<void> {
  const users = usersOf(jids);
  if (!users.length || !waMessageId) return;
  const value = JSON.stringify({ at: atMs, until: Date.now() + holdMs });
  const m = redis.multi();
  for (const u of users) m.hset(key(locationId, u), waMessageId, value).pexpire(key(locationId, u), holdMs);
  await m.exec();
}

/** The message is stored: it holds nothing back any more. */
export async function clearPending(
  redis: Redis,
  locationId: string,
  jids: (string | null | undefined)[],
  waMessageId: string,
): Promise<void> {
  const users = usersOf(jids);
  if (!users.length || !waMessageId) return;
  const m = redis.multi();
  for (const u of users) m.hdel(key(locationId, u), waMessageId);
  await m.exec();
}

/**
 * The pending messages of this contact (phone or LID) sent no later than `atMs`, other than
 * `exceptId`, whose hold has not run out, oldest first.
 */
export async function pendingBefore(
  redis: Redis,
  locationId: string,
  contact: { phone?: string | null; lid?: string | null },
  atMs: number,
  exceptId?: string | null,
): Promise<{ id: string; users: string[] }[]> {
  const now = Date.now();
  const found = new Map<string, { at: number; users: string[] }>();
  for (const u of usersOf([contact.phone, contact.lid])) {
    const all = await redis.hgetall(key(locationId, u));
    for (const [id, raw] of Object.entries(all)) {
      if (id === exceptId) continue;
      let v: { at?: unknown; until?: unknown };
      try {
        v = JSON.parse(raw) as typeof v;
      } catch {
        continue;
      }
      if (typeof v.at !== "number" || typeof v.until !== "number" || v.until <= now || v.at > atMs) continue;
      const f = found.get(id) ?? { at: v.at, users: [] };
      f.users.push(u);
      found.set(id, f);
    }
  }
  return [...found].sort((a, b) => a[1].at - b[1].at).map(([id, f]) => ({ id, users: f.users }));
}

/**
 * May a message of this contact sent at `atMs` be posted now, as far as pending messages go? A
 * pending one that is stored meanwhile (by this worker or another) is forgotten here; the order
 * gate then sees it as an earlier message like any other. Answers the id still on its way, or null.
 */
export async function pendingHold(
  redis: Redis,
  isStored: (waMessageId: string) => Promise<boolean>,
  locationId: string,
  contact: { phone?: string | null; lid?: string | null },
  atMs: number,
  exceptId?: string | null,
): Promise<string | null> {
  for (const p of await pendingBefore(redis, locationId, contact, atMs, exceptId)) {
    if (!(await isStored(p.id))) return p.id;
    await clearPending(redis, locationId, p.users, p.id);
  }
  return null;
}

// WhatsApp's offline replay after a login: Baileys rc14 queues the stanzas marked `offline` and
// works through them one by one, while live stanzas are handled at once, so a contact's message
// written after the login can be stored before the ones written while the number was away. While
// a number's replay is being worked through, the GHL jobs of its messages wait; the note ends
// REPLAY_QUIET_MS after the last replayed stanza was seen or decrypted. Then the order gate sees
// every message of the replay and posts them in the contact's order.
export const REPLAY_QUIET_MS = 3_000;
const replayKey = (instanceId: string) => `gw:inbound:replaying:${instanceId}`;

/** The number is working through WhatsApp's offline replay (refresh while it lasts). */
export async function noteReplaying(redis: Redis, instanceId: string, quietMs = REPLAY_QUIET_MS): Promise<void> {
  await redis.set(replayKey(instanceId), "1", "PX", quietMs);
}

/** Whether the number is still working through its offline replay. */
export async function isReplaying(redis: Redis, instanceId: string | null | undefined): Promise<boolean> {
  return !!instanceId && (await redis.exists(replayKey(instanceId))) === 1;
}
