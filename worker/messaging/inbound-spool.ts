import { BufferJSON, type WAMessage } from "@whiskeysockets/baileys";
import type { Redis } from "ioredis";
import { type Keyring, open, seal } from "@/lib/crypto";
import type { Receipt } from "@/lib/messages/receipts";

// Inbound messages and receipts that could not be stored yet (Postgres away, a media host
// failing), kept in Redis until they are: the ack gate (worker/whatsapp/store-before-ack.ts) lets
// WhatsApp's acknowledgement go once they are here, and WhatsApp will not send them again, so a
// copy only in this process's memory would die with the process. Each entry is encrypted (message
// content) and retried by whichever worker holds its number's socket, with backoff, until stored
// (recording is idempotent by WhatsApp id, statuses only move forward) or given up after `maxAgeMs`.

export const SPOOL_KEY = "gw:inbound:spool";

export type SpoolEntry = {
  instanceId: string;
  locationId: string;
  /** an inbound message… */
  message: WAMessage;
  /** …or, when set, receipts for our own messages (then `message` only carries their key) */
  receipts?: Receipt[];
  tries: number;
  firstAt: number;
  nextAt: number;
  lastError?: string;
};

const field = (instanceId: string, waMessageId: string) => `${instanceId}|${waMessageId}`;
const aad = (f: string) => `inbound-spool:${f}`;

export class InboundSpool {
  constructor(
    private redis: Redis,
    private o: { baseMs?: number; maxMs?: number; maxAgeMs?: number; keys?: Keyring } = {},
  ) {}

  get maxAgeMs() {
    return this.o.maxAgeMs ?? 24 * 3600_000;
  }

  /** Backoff after `tries` failed tries. */
  delayAfter(tries: number) {
    return backoffMs(tries, this.o.baseMs, this.o.maxMs);
  }

  async put(e: SpoolEntry): Promise<void> {
    const f = field(e.instanceId, entryId(e));
    // a protobuf Long timestamp would not survive JSON; the reducer reads it as a number anyway
    const message = {
      ...e.message,
      messageTimestamp: Number(e.message.messageTimestamp ?? Math.floor(e.firstAt / 1000)),
    };
    // `nextAt|sealed`: the due time in the clear, so a pass skips entries not due without decrypting them
    await this.redis.hset(
      SPOOL_KEY,
      f,
      `${e.nextAt}|${seal(JSON.stringify({ ...e, message }, BufferJSON.replacer), aad(f), this.o.keys)}`,
    );
  }

  /** `id`: the message's WhatsApp id, or `entryId(e)` of a receipts entry. */
  async remove(instanceId: string, id: string): Promise<void> {
    await this.redis.hdel(SPOOL_KEY, field(instanceId, id));
  }

  /** Entries due now for numbers `owned` by this process, oldest first, at most `limit`. */
  async due(owned: (instanceId: string) => boolean, now = Date.now(), limit = 200): Promise<SpoolEntry[]> {
    const out: SpoolEntry[] = [];
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(SPOOL_KEY, cursor, "COUNT", 500);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        const f = flat[i];
        if (!owned(f.split("|")[0])) continue;
        const v = flat[i + 1];
        const bar = v.indexOf("|");
        if (!(Number(v.slice(0, bar)) <= now)) continue;
        try {
          out.push(JSON.parse(open(v.slice(bar + 1), aad(f), this.o.keys), BufferJSON.reviver) as SpoolEntry);
        } catch {
          continue; // sealed under a key this process does not have: left for one that has it
        }
      }
    } while (cursor !== "0");
    return out.sort((a, b) => a.firstAt - b.firstAt).slice(0, limit);
  }

  async size(): Promise<number> {
    return this.redis.hlen(SPOOL_KEY);
  }
}

/** The entry's name in the spool: its message's WhatsApp id, or one for a batch of receipts. */
export function entryId(e: Pick<SpoolEntry, "message" | "receipts">): string {
  if (e.receipts?.length)
    return `receipts:${e.receipts.map((r) => `${r.waMessageId}=${r.status}`).join(",")}`.slice(0, 500);
  return e.message.key?.id ?? "?";
}

/** Retry delay after `tries` failed tries: base × 2^(tries-1), at most `maxMs` (1 s, 2 s, 4 s … 60 s). */
export function backoffMs(tries: number, baseMs = 1000, maxMs = 60_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, tries - 1));
}
