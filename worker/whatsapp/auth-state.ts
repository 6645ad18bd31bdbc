import {
  type AuthenticationCreds,
  type AuthenticationState,
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from "@whiskeysockets/baileys";
import type { Logger } from "pino";
import { type Keyring, open, seal } from "@/lib/crypto";
import type { Db, Prisma } from "@/lib/db";
import { keyCache } from "./key-cache";
import { installSharedAsyncLocalStorage } from "./shared-async-storage";

// A Baileys session in Postgres (whatsapp.md, "Sessions that survive restarts"): creds in one
// WaCreds row, signal keys in WaKey rows, each value BufferJSON-serialised and sealed with an aad
// naming its row, so a ciphertext copied onto another instance or key fails to open.
//
// A write that fails because Postgres is unreachable is HELD, not lost
// (docs/decisions/007-key-store-write-failures.md): it is retried until it lands, and the caller
// (Baileys' commit, or the creds listener) waits for it. Baileys' cache in front serialises every
// key read and write of the number, so the socket's processing waits with it: no receipt or ack
// leaves for a message whose key is not in Postgres. A write Postgres refuses for good (a
// constraint, bad data) fails at once, and the cache in front forgets what it could not save, so
// memory never runs ahead of Postgres.

export type PgAuthState = {
  state: AuthenticationState;
  /** persists the current creds; writes are serialised so the last update always lands last */
  saveCreds: () => Promise<void>;
  /** deletes creds and keys (logged out); later writes from a dying socket are ignored */
  wipe: () => Promise<void>;
  /** stops all writes at once: the lease is gone and the new owner's writes must not be overwritten */
  freeze: () => void;
  /**
   * Waits until every creds and key write started so far has landed (or given up): during an
   * outage that is when Postgres is back. Call it before the lease is handed on, so that a held
   * write cannot land over what the next owner has loaded.
   */
  flush: () => Promise<void>;
  /** true once creds name a linked account (a login, not a QR, will follow) */
  isRegistered: () => boolean;
};

/** What `onWriteFailure` is told about each failed attempt. */
export type WriteFailure = {
  kind: "creds" | "keys" | "read";
  err: unknown;
  /** 1 for the first failed attempt of this write */
  attempt: number;
  /** since the first failed attempt of this write */
  heldMs: number;
  /** Postgres refused it for good: it is not retried, the caller gets the error */
  permanent: boolean;
};

type Deps = {
  db: Db;
  instanceId: string;
  log: Logger;
  keys?: Keyring;
  /** told of every failed attempt (status, metrics, or closing the socket after a long hold) */
  onWriteFailure?: (f: WriteFailure) => void;
  /** retry pacing of a held write: first wait, doubling up to the cap (defaults 200 ms, 5 s) */
  retry?: { baseMs?: number; capMs?: number };
};

/** A held write or read gave up because the store was frozen or wiped meanwhile. */
export class KeyStoreClosedError extends Error {
  constructor(instanceId: string) {
    super(`WhatsApp key store of ${instanceId} closed while a write was waiting for Postgres`);
    this.name = "KeyStoreClosedError";
  }
}

// Postgres SQLSTATE classes that no retry can fix: 22 data exception, 23 integrity constraint,
// 42 syntax or access rule. Prisma's own codes for the same (P2000 value too long, P2002–P2004
// constraints, P2011/P2012 null/missing value, P2019/P2020 input/value out of range).
const PERMANENT_PRISMA = new Set(["P2000", "P2002", "P2003", "P2004", "P2011", "P2012", "P2019", "P2020"]);
/** Whether a failed statement would fail again however long we waited (not an outage). */
export function isPermanentDbError(err: unknown): boolean {
  // a bug rather than an outage: Prisma rejecting the query's shape, or a programming error
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return true;
  if ((err as { name?: unknown } | null)?.name === "PrismaClientValidationError") return true;
  const seen = new Set<unknown>();
  let e = err as
    | { code?: unknown; cause?: unknown; meta?: { code?: unknown; driverAdapterError?: unknown } }
    | undefined;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    // Prisma's code, the SQLSTATE in its meta, or the driver adapter's originalCode
    for (const code of [e.code, e.meta?.code, (e as { originalCode?: unknown }).originalCode]) {
      if (typeof code !== "string") continue;
      if (PERMANENT_PRISMA.has(code) || /^(22|23|42)[0-9A-Z]{3}$/.test(code)) return true;
    }
    e = (e.cause ?? e.meta?.driverAdapterError) as typeof e;
  }
  return false;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `op` until it succeeds: an outage is waited out (doubling pauses up to the cap), a
 * permanent refusal is thrown at once, and `closed()` (frozen, wiped) ends the wait with
 * KeyStoreClosedError. Logs the first failure and then every 10th, and the recovery.
 */
async function untilDone<T>(
  d: Deps,
  kind: WriteFailure["kind"],
  closed: () => boolean,
  op: () => Promise<T>,
  fields: Record<string, unknown>,
  failedMsg: string,
): Promise<T> {
  const base = d.retry?.baseMs ?? 200;
  const cap = d.retry?.capMs ?? 5_000;
  let first = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await op();
      if (attempt > 1)
        d.log.warn(
          { ...fields, instanceId: d.instanceId, attempts: attempt, heldMs: Date.now() - first },
          `${failedMsg}: landed after Postgres came back`,
        );
      return out;
    } catch (err) {
      if (err instanceof KeyStoreClosedError) throw err;
      first ||= Date.now();
      const permanent = isPermanentDbError(err);
      if (permanent || attempt === 1 || attempt % 10 === 0) {
        // a lost key write turns into "Bad MAC" on some later message, a lost creds write into a
        // rescan: this must be seen
        d.log.error(
          { err, ...fields, instanceId: d.instanceId, attempt, heldMs: Date.now() - first, held: !permanent },
          failedMsg,
        );
      }
      try {
        d.onWriteFailure?.({ kind, err, attempt, heldMs: Date.now() - first, permanent });
      } catch (hookErr) {
        d.log.warn({ err: hookErr }, "onWriteFailure hook failed");
      }
      if (permanent) throw err;
      await sleep(Math.min(cap, base * 2 ** Math.min(attempt - 1, 16)));
      if (closed()) throw new KeyStoreClosedError(d.instanceId);
    }
  }
}

export const credsAad = (instanceId: string) => `${instanceId}:creds:creds`;
export const keyAad = (instanceId: string, type: string, id: string) => `${instanceId}:${type}:${id}`;

export async function loadAuthState(d: Deps): Promise<PgAuthState> {
  // Baileys' late privacy-token writes need the shared AsyncLocalStorage (see its header); it must
  // be in place before the socket creates its transaction storage, i.e. before makeWASocket
  installSharedAsyncLocalStorage();
  const { db, instanceId } = d;
  const row = await db.waCreds.findUnique({ where: { instanceId } });
  const creds: AuthenticationCreds = row
    ? (JSON.parse(open(row.dataEnc, credsAad(instanceId), d.keys), BufferJSON.reviver) as AuthenticationCreds)
    : initAuthCreds();
  let wiped = false;
  let frozen = false;
  let chain: Promise<void> = Promise.resolve();
  // a write queued behind the running one: it serialises the creds when it starts, so one more
  // creds.update meanwhile needs no write of its own (during an outage they would pile up)
  let queued: Promise<void> | undefined;

  const closed = () => wiped || frozen;
  // Baileys' cache in front, ours: a write Postgres refused for good is dropped from it again
  const cache = keyCache();
  const store = pgKeyStore(d, closed, (data) => {
    for (const [type, entries] of Object.entries(data))
      for (const id of Object.keys(entries ?? {})) cache.del(`${type}.${id}`);
  });
  const writeCreds = async () => {
    if (closed()) return;
    await untilDone(
      d,
      "creds",
      closed,
      async () => {
        const dataEnc = seal(JSON.stringify(creds, BufferJSON.replacer), credsAad(instanceId), d.keys);
        await db.waCreds.upsert({ where: { instanceId }, create: { instanceId, dataEnc }, update: { dataEnc } });
      },
      {},
      "WhatsApp creds write FAILED",
    );
  };
  const saveCreds = () => {
    if (queued) return queued;
    const mine = chain.then(() => {
      queued = undefined;
      return writeCreds();
    });
    queued = mine;
    chain = mine.catch(() => {});
    return mine;
  };

  return {
    state: { creds, keys: makeCacheableSignalKeyStore(store, d.log, cache) },
    saveCreds,
    flush: async () => {
      await chain;
      await store.flush();
    },
    freeze: () => {
      frozen = true;
    },
    // a pairing-code request sets `me` before anything is linked; `account` only comes with pair-success
    isRegistered: () => Boolean(creds.me?.id && creds.account),
    wipe: async () => {
      wiped = true;
      await chain;
      await db.$transaction([
        db.waKey.deleteMany({ where: { instanceId } }),
        db.waCreds.deleteMany({ where: { instanceId } }),
      ]);
    },
  };
}

/** Keys known not to exist, at most this many remembered per number (then forgotten at once). */
const MAX_ABSENT = 20_000;

/**
 * `isFrozen`: writes are ignored from then on, and a held write or read gives up.
 * `onRefused`: told of a set Postgres refused for good, so the cache in front can forget it.
 */
export function pgKeyStore(
  d: Deps,
  isFrozen: () => boolean,
  onRefused?: (data: SignalDataSet) => void,
): SignalKeyStore & { flush(): Promise<void> } {
  const { db, instanceId } = d;
  // Baileys' cache in front (makeCacheableSignalKeyStore) remembers only keys that exist; the ones
  // it asks for on every send and that are not there (tctoken, lid-mapping of a phone-only contact,
  // …) were a Postgres query each, three per message. This store is the only writer of its
  // number's keys (one socket per number, by lease; a new owner loads a new store), so what it read
  // as absent stays absent until it writes it itself.
  let absent = new Set<string>();
  // a read that overlapped a write marks nothing: the write was in flight when the read began
  // (`writing`), or began while the read was on its way (`writes` moved)
  let writes = 0;
  let writing = 0;
  const akey = (type: string, id: string) => `${type}\u0000${id}`;
  // writes on their way to Postgres (held ones included), for flush()
  const inflight = new Set<Promise<unknown>>();
  return {
    async flush() {
      while (inflight.size) await Promise.allSettled([...inflight]);
    },
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      const wanted = ids.filter((id) => !absent.has(akey(type, id)));
      if (wanted.length === 0) return out;
      const writesBefore = writes;
      const quiet = writing === 0;
      // a read during an outage waits for Postgres too: failing it would fail the decryption
      const rows = await untilDone(
        d,
        "read",
        isFrozen,
        () => db.waKey.findMany({ where: { instanceId, type, keyId: { in: wanted } } }),
        { type, count: wanted.length },
        "WhatsApp signal key read FAILED",
      );
      if (rows.length < wanted.length && quiet && writes === writesBefore) {
        const found = new Set(rows.map((r) => r.keyId));
        if (absent.size + wanted.length > MAX_ABSENT) absent = new Set();
        for (const id of wanted) if (!found.has(id)) absent.add(akey(type, id));
      }
      for (const r of rows) {
        let value = JSON.parse(open(r.valueEnc, keyAad(instanceId, type, r.keyId), d.keys), BufferJSON.reviver);
        // protobuf objects lose their class in JSON; Baileys needs the real message type back
        if (type === "app-state-sync-key" && value) value = proto.Message.AppStateSyncKeyData.fromObject(value);
        out[r.keyId] = value as SignalDataTypeMap[T];
      }
      return out;
    },
    async set(data: SignalDataSet) {
      if (isFrozen()) return;
      writes++;
      const deletes: { type: string; gone: string[] }[] = [];
      const types: string[] = [];
      const keyIds: string[] = [];
      const values: string[] = [];
      for (const [type, entries] of Object.entries(data)) {
        const gone: string[] = [];
        for (const [keyId, value] of Object.entries(entries ?? {})) {
          // forgotten before the write: a read racing it finds the row, or the cache in front has it
          absent.delete(akey(type, keyId));
          if (value == null) {
            gone.push(keyId);
            continue;
          }
          types.push(type);
          keyIds.push(keyId);
          values.push(seal(JSON.stringify(value, BufferJSON.replacer), keyAad(instanceId, type, keyId), d.keys));
        }
        if (gone.length) deletes.push({ type, gone });
      }
      if (deletes.length === 0 && values.length === 0) return;
      // built afresh for every attempt: a held write runs its statements again
      const ops = () => {
        const out: Prisma.PrismaPromise<unknown>[] = deletes.map(({ type, gone }) =>
          db.waKey.deleteMany({ where: { instanceId, type, keyId: { in: gone } } }),
        );
        // one statement for any number of rows, and an upsert, so two writers of the same key
        // (Baileys retries, a socket being replaced) cannot collide on the primary key
        if (values.length) {
          out.push(db.$executeRaw`
          INSERT INTO "WaKey" ("instanceId", "type", "keyId", "valueEnc", "updatedAt")
          SELECT ${instanceId}, t, k, v, now() FROM unnest(${types}::text[], ${keyIds}::text[], ${values}::text[]) AS x(t, k, v)
          ON CONFLICT ("instanceId", "type", "keyId") DO UPDATE SET "valueEnc" = EXCLUDED."valueEnc", "updatedAt" = now()`);
        }
        return out;
      };
      writing++;
      let write: Promise<unknown> | undefined;
      try {
        // a burst of linking numbers can hold every pooled connection for a while: wait for one
        // rather than lose the write; an outage is waited out the same way (untilDone)
        write = untilDone(
          d,
          "keys",
          isFrozen,
          () => db.$transaction(ops(), { maxWait: 20_000, timeout: 30_000 }),
          { types: Object.keys(data), count: values.length },
          "WhatsApp signal key write FAILED",
        );
        inflight.add(write);
        await write;
      } catch (err) {
        // not written, and not retried: what the cache in front took must not outlive this
        onRefused?.(data);
        throw err;
      } finally {
        writing--;
        if (write) inflight.delete(write);
      }
    },
    async clear() {
      absent = new Set();
      await db.waKey.deleteMany({ where: { instanceId } });
    },
  };
}
