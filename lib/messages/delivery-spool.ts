import type { Redis } from "ioredis";
import { DecryptError, type Keyring, open, seal } from "../crypto";
import { redisScript } from "../redis-script";

// Delivery URL calls that could not be stored in Postgres (it is away, or too slow), kept in Redis
// until the worker's drain (worker/jobs/delivery-spool-drain.ts) stores them through the same
// idempotent path (acceptOutbound, deduplicated on GHL's messageId). Decision record 006.
//
// One FIFO list per location: while a location's list is not empty, its later deliveries join the
// list too instead of going to Postgres, so each contact's messages keep GHL's order. An entry is
// removed only after it is stored (peek, store, remove-if-still-the-head): a drain that dies in
// between stores it again, which the messageId makes a no-op, and a delivery arriving meanwhile
// still sees a non-empty list. Each entry is the raw signed body, encrypted and bound to its
// location (AAD), with the time it was received (the Message's createdAt once drained: the send
// loops order by it). Receive times are made strictly increasing per location by the push itself,
// so a burst keeps its order even within one millisecond.

const PREFIX = "gw:delivery:spool";
export const SPOOL_LOCATIONS_KEY = `${PREFIX}:locations`;
export const spoolKey = (locationId: string) => `${PREFIX}:q:${locationId}`;
const lastKey = (locationId: string) => `${PREFIX}:last:${locationId}`;
export const deadKey = (locationId: string) => `${PREFIX}:dead:${locationId}`;
const lockKey = (locationId: string) => `${PREFIX}:lock:${locationId}`;
const aad = (locationId: string) => `delivery-spool:${locationId}`;

/** Entries per location before the spool refuses more (then the call is answered 429 and GHL resends). */
export const SPOOL_MAX_PER_LOCATION = 50_000;

// KEYS: list, last, locations set. ARGV: now (ms), sealed, cap, locationId.
// Returns the receive time given to the entry, or -1 when the location's list is full.
const PUSH = redisScript(`
if redis.call("LLEN", KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
local t = tonumber(ARGV[1])
local last = tonumber(redis.call("GET", KEYS[2]) or "0")
if t <= last then t = last + 1 end
redis.call("SET", KEYS[2], t, "PX", 86400000)
redis.call("RPUSH", KEYS[1], t .. "|" .. ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
return t`);

// KEYS: list, locations set, dead list (or the list again when not dead-lettering).
// ARGV: the head value expected, locationId, dead record ("" = just remove). 1 = removed.
const SHIFT = redisScript(`
if redis.call("LINDEX", KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call("LPOP", KEYS[1])
if ARGV[3] ~= "" then redis.call("RPUSH", KEYS[3], ARGV[3]) end
if redis.call("LLEN", KEYS[1]) == 0 then redis.call("SREM", KEYS[2], ARGV[2]) end
return 1`);

// A location listed with an empty list (an entry removed by hand, say): unlisted.
const UNLIST_IF_EMPTY = redisScript(`
if redis.call("LLEN", KEYS[1]) == 0 then return redis.call("SREM", KEYS[2], ARGV[1]) end
return 0`);

const RENEW = redisScript(
  `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`,
);
const RELEASE = redisScript(
  `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`,
);

export type SpooledDelivery = {
  /** the list element as stored: what `remove` compares against */
  value: string;
  locationId: string;
  /** when the app received the call (ms), strictly increasing per location */
  receivedAt: number;
  /** the signed bytes GHL sent */
  body: string;
};

export type SpoolHead =
  | { kind: "entry"; entry: SpooledDelivery }
  | { kind: "empty" }
  /** sealed under a key this process does not have (a rotation in progress): left for one that has it */
  | { kind: "unknown-key"; value: string }
  /** tampered with, or not an entry at all */
  | { kind: "unreadable"; value: string; reason: string };

export class DeliverySpool {
  constructor(
    private redis: Redis,
    private keys?: Keyring,
  ) {}

  /** Whether the location has deliveries waiting: then a new one must wait behind them. */
  async waiting(locationId: string): Promise<boolean> {
    return (await this.redis.exists(spoolKey(locationId))) === 1;
  }

  /** Appends a verified, validated delivery; the receive time it got, or null when the location's spool is full. */
  async put(locationId: string, raw: Buffer, now = Date.now()): Promise<number | null> {
    const sealed = seal(JSON.stringify({ v: 1, at: now, body: raw.toString("utf8") }), aad(locationId), this.keys);
    const t = Number(
      await PUSH(
        this.redis,
        [spoolKey(locationId), lastKey(locationId), SPOOL_LOCATIONS_KEY],
        [now, sealed, SPOOL_MAX_PER_LOCATION, locationId],
      ),
    );
    return t < 0 ? null : t;
  }

  /** The oldest delivery of the location, opened. */
  async head(locationId: string): Promise<SpoolHead> {
    const value = await this.redis.lindex(spoolKey(locationId), 0);
    if (value === null) {
      await UNLIST_IF_EMPTY(this.redis, [spoolKey(locationId), SPOOL_LOCATIONS_KEY], [locationId]);
      return { kind: "empty" };
    }
    const bar = value.indexOf("|");
    const receivedAt = Number(value.slice(0, bar));
    if (bar < 1 || !Number.isFinite(receivedAt)) return { kind: "unreadable", value, reason: "not a spool entry" };
    try {
      const e = JSON.parse(open(value.slice(bar + 1), aad(locationId), this.keys)) as { v: number; body: string };
      if (e.v !== 1 || typeof e.body !== "string")
        return { kind: "unreadable", value, reason: "unknown entry version" };
      return { kind: "entry", entry: { value, locationId, receivedAt, body: e.body } };
    } catch (err) {
      if (err instanceof DecryptError && err.message.startsWith("sealed with unknown key id"))
        return { kind: "unknown-key", value };
      return { kind: "unreadable", value, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Removes the head once it is stored (or refused for good); false when it is no longer the head. */
  async remove(locationId: string, value: string): Promise<boolean> {
    return (
      (await SHIFT(
        this.redis,
        [spoolKey(locationId), SPOOL_LOCATIONS_KEY, spoolKey(locationId)],
        [value, locationId, ""],
      )) === 1
    );
  }

  /** Moves the head to the location's dead list (kept sealed, for a person to look at): it will never store. */
  async deadLetter(locationId: string, value: string, reason: string, now = Date.now()): Promise<boolean> {
    const rec = JSON.stringify({ at: now, reason: reason.slice(0, 500), value });
    return (
      (await SHIFT(
        this.redis,
        [spoolKey(locationId), SPOOL_LOCATIONS_KEY, deadKey(locationId)],
        [value, locationId, rec],
      )) === 1
    );
  }

  /** Locations with deliveries waiting. */
  async locations(): Promise<string[]> {
    return this.redis.smembers(SPOOL_LOCATIONS_KEY);
  }

  /** Deliveries waiting, per location. */
  async sizes(): Promise<Map<string, number>> {
    const locs = await this.locations();
    const out = new Map<string, number>();
    if (!locs.length) return out;
    const p = this.redis.pipeline();
    for (const l of locs) p.llen(spoolKey(l));
    const r = (await p.exec()) ?? [];
    locs.forEach((l, i) => out.set(l, Number(r[i]?.[1] ?? 0)));
    return out;
  }

  async size(): Promise<number> {
    let n = 0;
    for (const v of (await this.sizes()).values()) n += v;
    return n;
  }

  async deadCount(locationId: string): Promise<number> {
    return this.redis.llen(deadKey(locationId));
  }

  /** One drainer per location at a time (across workers), holding the lock under its own token. */
  async lock(locationId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(lockKey(locationId), token, "PX", ttlMs, "NX")) === "OK";
  }

  async renew(locationId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await RENEW(this.redis, [lockKey(locationId)], [token, ttlMs])) === 1;
  }

  async unlock(locationId: string, token: string): Promise<void> {
    await RELEASE(this.redis, [lockKey(locationId)], [token]);
  }
}
