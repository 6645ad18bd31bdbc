import {
  BufferJSON, initAuthCreds, makeCacheableSignalKeyStore, proto,
  type AuthenticationCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap, type SignalKeyStore,
} from "@whiskeysockets/baileys";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { open, seal, type Keyring } from "@/lib/crypto";

// A Baileys session in Postgres (whatsapp.md, "Sessions that survive restarts"): creds in one
// WaCreds row, signal keys in WaKey rows, each value BufferJSON-serialised and sealed with an aad
// naming its row, so a ciphertext copied onto another instance or key fails to open.

export type PgAuthState = {
  state: AuthenticationState;
  /** persists the current creds; writes are serialised so the last update always lands last */
  saveCreds: () => Promise<void>;
  /** deletes creds and keys (logged out); later writes from a dying socket are ignored */
  wipe: () => Promise<void>;
  /** stops all writes at once: the lease is gone and the new owner's writes must not be overwritten */
  freeze: () => void;
  /** true once creds name a linked account (a login, not a QR, will follow) */
  isRegistered: () => boolean;
};

type Deps = { db: Db; instanceId: string; log: Logger; keys?: Keyring };

export const credsAad = (instanceId: string) => `${instanceId}:creds:creds`;
export const keyAad = (instanceId: string, type: string, id: string) => `${instanceId}:${type}:${id}`;

export async function loadAuthState(d: Deps): Promise<PgAuthState> {
  const { db, instanceId, log } = d;
  const row = await db.waCreds.findUnique({ where: { instanceId } });
  const creds: AuthenticationCreds = row
    ? (JSON.parse(open(row.dataEnc, credsAad(instanceId), d.keys), BufferJSON.reviver) as AuthenticationCreds)
    : initAuthCreds();
  let wiped = false;
  let frozen = false;
  let chain: Promise<void> = Promise.resolve();

  const store = pgKeyStore(d, () => wiped || frozen);
  const saveCreds = () => {
    const write = async () => {
      if (wiped || frozen) return;
      const dataEnc = seal(JSON.stringify(creds, BufferJSON.replacer), credsAad(instanceId), d.keys);
      await db.waCreds.upsert({ where: { instanceId }, create: { instanceId, dataEnc }, update: { dataEnc } });
    };
    chain = chain.then(write).catch((err) => {
      // a lost creds write means a rescan after the next restart: say so loudly
      log.error({ err, instanceId }, "WhatsApp creds write FAILED");
      throw err;
    });
    const mine = chain;
    chain = chain.catch(() => {});
    return mine;
  };

  return {
    state: { creds, keys: makeCacheableSignalKeyStore(store, log) },
    saveCreds,
    // a pairing-code request sets `me` before anything is linked; `account` only comes with pair-success
    freeze: () => {
      frozen = true;
    },
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

export function pgKeyStore(d: Deps, isFrozen: () => boolean): SignalKeyStore {
  const { db, instanceId, log } = d;
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
  return {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      const wanted = ids.filter((id) => !absent.has(akey(type, id)));
      if (wanted.length === 0) return out;
      const writesBefore = writes;
      const quiet = writing === 0;
      const rows = await db.waKey.findMany({ where: { instanceId, type, keyId: { in: wanted } } });
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
      const ops = [];
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
        if (gone.length) ops.push(db.waKey.deleteMany({ where: { instanceId, type, keyId: { in: gone } } }));
      }
      // one statement for any number of rows, and an upsert, so two writers of the same key
      // (Baileys retries, a socket being replaced) cannot collide on the primary key
      if (values.length) {
        ops.push(db.$executeRaw`
          INSERT INTO "WaKey" ("instanceId", "type", "keyId", "valueEnc", "updatedAt")
          SELECT ${instanceId}, t, k, v, now() FROM unnest(${types}::text[], ${keyIds}::text[], ${values}::text[]) AS x(t, k, v)
          ON CONFLICT ("instanceId", "type", "keyId") DO UPDATE SET "valueEnc" = EXCLUDED."valueEnc", "updatedAt" = now()`);
      }
      if (ops.length === 0) return;
      writing++;
      try {
        // a burst of linking numbers can hold every pooled connection for a while: wait for one
        // rather than lose the write
        await db.$transaction(ops, { maxWait: 20_000, timeout: 30_000 });
      } catch (err) {
        // a lost key write turns into "Bad MAC" on some later message: this must be seen
        log.error({ err, instanceId, types: Object.keys(data), count: values.length }, "WhatsApp signal key write FAILED");
        throw err;
      } finally {
        writing--;
      }
    },
    async clear() {
      absent = new Set();
      await db.waKey.deleteMany({ where: { instanceId } });
    },
  };
}
