import { initAuthCreds, proto, type SignalDataSet } from "@whiskeysockets/baileys";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptError, keyringFrom } from "@/lib/crypto";
import { createDb, type Db } from "@/lib/db";
import { loadAuthState, pgKeyStore } from "@/worker/whatsapp/auth-state";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The Postgres-backed Baileys session: what a restarted worker reads back must be exactly what
// the last socket wrote, for every key type Baileys 7 uses, sealed per row.
let db: Db;
const log = pino({ level: "silent" });
const keys = keyringFrom(process.env.ENCRYPTION_KEY!);
const buf = (n: number, fill: number) => Buffer.alloc(n, fill);

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 4);
  await db.location.create({ data: { id: "locA", name: "A" } });
  await db.instance.createMany({
    data: [
      { id: "i1", locationId: "locA", name: "wa-01" },
      { id: "i2", locationId: "locA", name: "wa-02" },
    ],
  });
});
afterAll(async () => {
  await db.$disconnect();
});

const allTypes: SignalDataSet = {
  "pre-key": { "1": { private: buf(32, 1), public: buf(32, 2) }, "2": { private: buf(32, 3), public: buf(32, 4) } },
  session: { "15550001111.0": new Uint8Array([1, 2, 3, 250]) },
  "sender-key": { "group@g.us::15550001111::0": new Uint8Array([9, 8, 7]) },
  "sender-key-memory": { "group@g.us": { "15550001111@s.whatsapp.net": true } },
  "app-state-sync-key": {
    AAAAAQ: proto.Message.AppStateSyncKeyData.fromObject({
      keyData: buf(32, 5),
      fingerprint: { rawId: 7, currentIndex: 1, deviceIndexes: [0, 1] },
      timestamp: 1700000000,
    }),
  },
  "app-state-sync-version": {
    regular: { version: 3, hash: buf(128, 6), indexValueMap: { abc: { valueMac: buf(32, 7) } } },
  },
  "lid-mapping": { "15550001111": "100000000000001", "100000000000001_reverse": "15550001111" },
  "device-list": { "15550001111": ["0", "12"] },
  tctoken: { "15550001111@s.whatsapp.net": { token: buf(16, 8), timestamp: "1700000000" } },
  "identity-key": { "15550001111.0": new Uint8Array(buf(33, 9)) },
};

describe("Postgres auth state", () => {
  it("round-trips creds and every 7.x key type through a fresh load (no cache)", async () => {
    const a = await loadAuthState({ db, instanceId: "i1", log, keys });
    a.state.creds.me = { id: "15550001111:12@s.whatsapp.net", name: "Shop" };
    await a.saveCreds();
    await a.state.keys.set(allTypes);

    const b = await loadAuthState({ db, instanceId: "i1", log, keys });
    expect(b.state.creds.me?.id).toBe("15550001111:12@s.whatsapp.net");
    expect(Buffer.from(b.state.creds.noiseKey.private)).toEqual(Buffer.from(a.state.creds.noiseKey.private));
    for (const [type, entries] of Object.entries(allTypes)) {
      const ids = Object.keys(entries!);
      const got = await b.state.keys.get(type as keyof SignalDataSet, ids);
      expect(Object.keys(got).sort(), type).toEqual(ids.sort());
      for (const id of ids) {
        const want = (entries as Record<string, unknown>)[id];
        const norm = (v: unknown) =>
          JSON.parse(
            JSON.stringify(v, (_k, x) =>
              x instanceof Uint8Array
                ? Buffer.from(x).toString("hex")
                : x?.type === "Buffer"
                  ? Buffer.from(x.data).toString("hex")
                  : x,
            ),
          );
        expect(norm(got[id]), `${type}/${id}`).toEqual(norm(want));
      }
    }
    const sync = (await b.state.keys.get("app-state-sync-key", ["AAAAAQ"])).AAAAAQ;
    expect(sync).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.isBuffer((await b.state.keys.get("session", ["15550001111.0"]))["15550001111.0"])).toBe(true);
  });

  it("stores values sealed, never in clear", async () => {
    const row = await db.waKey.findFirstOrThrow({
      where: { instanceId: "i1", type: "lid-mapping", keyId: "15550001111" },
    });
    expect(row.valueEnc.startsWith("v1.")).toBe(true);
    expect(row.valueEnc).not.toContain("100000000000001");
    const creds = await db.waCreds.findUniqueOrThrow({ where: { instanceId: "i1" } });
    expect(creds.dataEnc).not.toContain("15550001111");
  });

  it("null deletes, and one set is one transaction: a failing row leaves nothing half-written", async () => {
    const a = await loadAuthState({ db, instanceId: "i2", log, keys });
    await a.state.keys.set({
      "pre-key": { "5": { private: buf(32, 1), public: buf(32, 2) } },
      session: { x: new Uint8Array([1]) },
    });
    await a.state.keys.set({ "pre-key": { "5": null } });
    expect(await db.waKey.count({ where: { instanceId: "i2", type: "pre-key" } })).toBe(0);

    // a constraint that rejects one of the inserted rows: the deletes of the same set must roll back too
    const logged: unknown[] = [];
    const loud = pino({ level: "error" }, { write: (s: string) => void logged.push(JSON.parse(s)) });
    const ghost = await loadAuthState({ db, instanceId: "i2", log: loud, keys });
    await db.waKey.create({ data: { instanceId: "i2", type: "session", keyId: "keep", valueEnc: "v1.x.y.z.w" } });
    const raw = (ghost as unknown as { state: { keys: { set: (d: SignalDataSet) => Promise<void> } } }).state.keys;
    const bad = {
      session: { keep: null, y: new Uint8Array([2]) },
      "pre-key": { "9": { private: buf(32, 1), public: buf(32, 2) } },
    } as SignalDataSet;
    await db.$executeRawUnsafe(`ALTER TABLE "WaKey" ADD CONSTRAINT wa_key_test_fail CHECK ("keyId" <> '9')`);
    try {
      await expect(raw.set(bad)).rejects.toThrow();
    } finally {
      await db.$executeRawUnsafe(`ALTER TABLE "WaKey" DROP CONSTRAINT wa_key_test_fail`);
    }
    expect(await db.waKey.count({ where: { instanceId: "i2", type: "session", keyId: "keep" } })).toBe(1);
    expect(await db.waKey.count({ where: { instanceId: "i2", keyId: { in: ["y", "9"] } } })).toBe(0);
    expect(logged.some((l) => (l as { msg?: string }).msg === "WhatsApp signal key write FAILED")).toBe(true);
  });

  it("a ciphertext moved to another row or edited fails to open", async () => {
    const a = await loadAuthState({ db, instanceId: "i1", log, keys });
    await a.state.keys.set({ session: { moved: new Uint8Array([1, 2]) } });
    const src = await db.waKey.findFirstOrThrow({
      where: { instanceId: "i1", type: "lid-mapping", keyId: "15550001111" },
    });
    // same instance, other key id: the aad no longer matches
    await db.waKey.update({
      where: { instanceId_type_keyId: { instanceId: "i1", type: "session", keyId: "moved" } },
      data: { valueEnc: src.valueEnc },
    });
    const fresh = await loadAuthState({ db, instanceId: "i1", log, keys });
    await expect(fresh.state.keys.get("session", ["moved"])).rejects.toBeInstanceOf(DecryptError);

    const creds = await db.waCreds.findUniqueOrThrow({ where: { instanceId: "i1" } });
    const parts = creds.dataEnc.split(".");
    const ct = Buffer.from(parts[3], "base64url");
    ct[0] ^= 1;
    parts[3] = ct.toString("base64url");
    await db.waCreds.update({ where: { instanceId: "i1" }, data: { dataEnc: parts.join(".") } });
    await expect(loadAuthState({ db, instanceId: "i1", log, keys })).rejects.toBeInstanceOf(DecryptError);
  });

  it("wipe removes creds and keys, and a dying socket's late writes do not bring them back", async () => {
    const a = await loadAuthState({ db, instanceId: "i2", log, keys });
    await a.saveCreds();
    await a.state.keys.set({ session: { s: new Uint8Array([1]) } });
    await a.wipe();
    await a.saveCreds();
    await a.state.keys.set({ session: { late: new Uint8Array([1]) } });
    expect(await db.waCreds.count({ where: { instanceId: "i2" } })).toBe(0);
    expect(await db.waKey.count({ where: { instanceId: "i2" } })).toBe(0);
    const fresh = await loadAuthState({ db, instanceId: "i2", log, keys });
    expect(fresh.isRegistered()).toBe(false);
    expect(fresh.state.creds.noiseKey.public).not.toEqual(initAuthCreds().noiseKey.public);
  });

  it("a key read as absent is not asked of Postgres again until this store writes it", async () => {
    await db.instance.create({ data: { id: "i3", locationId: "locA", name: "wa-03" } });
    const tc = { token: buf(16, 8), timestamp: "1700000000" };
    const store = pgKeyStore({ db, instanceId: "i3", log, keys }, () => false);
    expect(await store.get("tctoken", ["a@s.whatsapp.net", "b@s.whatsapp.net"])).toEqual({});
    // written behind its back (only a test does that: one store per number writes its keys)
    await pgKeyStore({ db, instanceId: "i3", log, keys }, () => false).set({ tctoken: { "a@s.whatsapp.net": tc } });
    expect(await store.get("tctoken", ["a@s.whatsapp.net"]), "remembered as absent: no query").toEqual({});
    expect(
      Object.keys(
        await pgKeyStore({ db, instanceId: "i3", log, keys }, () => false).get("tctoken", ["a@s.whatsapp.net"]),
      ),
    ).toEqual(["a@s.whatsapp.net"]);
    // its own write makes it present again
    await store.set({ tctoken: { "b@s.whatsapp.net": tc } });
    expect(Object.keys(await store.get("tctoken", ["b@s.whatsapp.net"]))).toEqual(["b@s.whatsapp.net"]);
  });

  it("a read that overlaps a write of the same key does not remember it as absent", async () => {
    for (let i = 0; i < 5; i++) {
      const store = pgKeyStore({ db, instanceId: "i3", log, keys }, () => false);
      const id = `race-${i}`;
      const reading = store.get("session", [id]); // in flight while the write starts
      await store.set({ session: { [id]: new Uint8Array([i]) } });
      await reading;
      expect(Object.keys(await store.get("session", [id])), id).toEqual([id]);
    }
  });
});
