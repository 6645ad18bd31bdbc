import type { WAMessage, WASocket } from "@whiskeysockets/baileys";
import { BufferJSON } from "@whiskeysockets/baileys";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyringFrom, open } from "@/lib/crypto";
import { createDb, type Db } from "@/lib/db";
import { startWaSimulator, type WaSimulator } from "@/sandbox/whatsapp/server";
import { control, waitFor } from "@/sandbox/whatsapp/test-kit";
import {
  credsAad,
  KeyStoreClosedError,
  loadAuthState,
  type PgAuthState,
  type WriteFailure,
} from "@/worker/whatsapp/auth-state";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { until } from "./helpers/wa-fixture";
import {
  type ClientCounts,
  connectWith,
  countingLogger,
  countStubs,
  newCounts,
  pgProxy,
} from "./helpers/wa-keystore-kit";

// Postgres goes away under a live socket (a TCP proxy in front of it cuts every connection and
// refuses new ones), with messages flowing both ways. The key store must hold its writes (and the
// socket's processing with them) until Postgres is back, never acknowledge a message whose keys
// are unsaved, and lose nothing: afterwards 100 messages each way decrypt without a single failure,
// and a restart from what Postgres holds logs in without a QR and keeps decrypting.
const OUTAGE_MS = Number(process.env.WA_OUTAGE_MS ?? 35_000);
const ME = "15557770001";
const ALICE = "15557770002";
const keys = keyringFrom(process.env.ENCRYPTION_KEY!);
const log = pino({ level: process.env.WA_KEYSTORE_DEBUG ? "warn" : "silent" });

let url: string;
let admin: Db; // straight to Postgres: the test's own reads
let keyDb: Db; // through the proxy: the key store's
let proxy: Awaited<ReturnType<typeof pgProxy>>;
let sim: WaSimulator;
let auth: PgAuthState;
let sock: WASocket;
const counts: ClientCounts = newCounts();
const failures: WriteFailure[] = [];
const inbound = new Map<string, string>(); // text → message id, every decrypted upsert from ALICE

function connect(a: PgAuthState): WASocket {
  const s = connectWith(sim, a.state, countingLogger(counts, "debug"), () => void a.saveCreds().catch(() => {}));
  countStubs(s, counts);
  s.ev.on("messages.upsert", (u) => {
    for (const m of u.messages) {
      const text = m.message?.conversation ?? m.message?.extendedTextMessage?.text;
      if (!m.key.fromMe && text) inbound.set(text, m.key.id ?? "");
    }
  });
  return s;
}

async function inboxTexts(): Promise<Set<string>> {
  const r = await control<{ text?: string }[]>(sim, "GET", `/__sandbox/phones/${ALICE}/inbox`);
  return new Set(r.body.map((e) => e.text ?? ""));
}

const aliceSends = async (texts: string[]) => {
  for (const text of texts) {
    const r = await control(sim, "POST", `/__sandbox/phones/${ALICE}/send`, { to: ME, text });
    if (r.status !== 200) throw new Error(`send as Alice: ${r.status} ${JSON.stringify(r.body)}`);
  }
};
const range = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}-${i}`);

async function exchange(prefix: string, n: number) {
  const out = range(`${prefix}-out`, n);
  const inn = range(`${prefix}-in`, n);
  for (const text of out) await sock.sendMessage(`${ALICE}@s.whatsapp.net`, { text });
  await aliceSends(inn);
  await until(
    `${prefix}: Alice decrypted all ${n}`,
    async () => {
      const got = await inboxTexts();
      return out.every((t) => got.has(t));
    },
    60_000,
    200,
  );
  await until(`${prefix}: the client decrypted all ${n}`, async () => inn.every((t) => inbound.has(t)), 60_000, 200);
}

beforeAll(async () => {
  url = await cloneTemplateDb(dbNameFor(import.meta.filename));
  admin = createDb(url, 2);
  proxy = await pgProxy(url);
  keyDb = createDb(proxy.url, 4);
  await admin.location.create({ data: { id: "locA", name: "A" } });
  await admin.instance.create({ data: { id: "i1", locationId: "locA", name: "wa-01" } });
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  await control(sim, "POST", "/__sandbox/phones", { phone: ME });
  await control(sim, "POST", "/__sandbox/phones", { phone: ALICE, name: "Alice" });

  auth = await loadAuthState({
    db: keyDb,
    instanceId: "i1",
    log,
    keys,
    retry: { baseMs: 100, capMs: 1000 },
    onWriteFailure: (f) => void failures.push(f),
  });
  const first = connect(auth);
  const { qr } = await waitFor(first, "connection.update", (u) => !!u.qr, 20_000);
  const closed = waitFor(first, "connection.update", (u) => u.connection === "close", 20_000);
  await control(sim, "POST", `/__sandbox/phones/${ME}/scan`, { qr });
  await closed;
  sock = connect(auth);
  await waitFor(sock, "connection.update", (u) => u.connection === "open", 20_000);
  await exchange("warm", 5);
}, 120_000);

afterAll(async () => {
  sock?.ev.removeAllListeners(undefined as never);
  sock?.end(undefined);
  await sim?.close();
  await keyDb?.$disconnect();
  await proxy?.close();
  await admin?.$disconnect();
});

describe("key store during a Postgres outage (real client, real pg driver)", () => {
  it("holds key and creds writes while Postgres is gone; nothing is acknowledged on unsaved keys", async () => {
    const before = { failures: failures.length, decrypt: counts.decryptFailures, stubs: counts.ciphertextStubs };
    proxy.cut();
    // a creds change during the outage (as Baileys' pre-key upload makes): must land later
    const marker = 1_700_000_123;
    auth.state.creds.lastAccountSyncTimestamp = marker;
    const credsSaved = auth.saveCreds();

    // both directions while Postgres is down: sends and inbound decryptions need key writes
    const outTexts = range("outage-out", 10);
    const inTexts = range("outage-in", 10);
    const sends: Promise<WAMessage | undefined>[] = [];
    let sendsDone = 0;
    for (const text of outTexts)
      sends.push(sock.sendMessage(`${ALICE}@s.whatsapp.net`, { text }).finally(() => sendsDone++));
    await aliceSends(inTexts);
    await until(
      "key writes failing",
      async () => failures.some((f) => f.kind === "keys") && failures.some((f) => f.kind === "creds"),
      20_000,
      100,
    );
    // longer than Baileys' own commit retries (10 tries, 3 s apart): the store must outlast them
    await new Promise((r) => setTimeout(r, OUTAGE_MS));

    // held, not carried on: no inbound message was handed to the app (its receipt and ack wait
    // with it), no send resolved, and the failed attempts were retried, not given up
    expect(
      inTexts.filter((t) => inbound.has(t)),
      "inbound processed during the outage",
    ).toEqual([]);
    expect(sendsDone, "sends resolved during the outage").toBe(0);
    const during = failures.slice(before.failures);
    console.info(
      JSON.stringify({
        outageMs: OUTAGE_MS,
        failedAttempts: {
          keys: during.filter((f) => f.kind === "keys").length,
          reads: during.filter((f) => f.kind === "read").length,
          creds: during.filter((f) => f.kind === "creds").length,
        },
        longestHoldMs: Math.max(0, ...during.map((f) => f.heldMs)),
      }),
    );
    expect(during.every((f) => !f.permanent)).toBe(true);
    expect(during.filter((f) => f.kind === "keys").length).toBeGreaterThan(1);

    proxy.restore();
    await credsSaved;
    const row = await admin.waCreds.findUniqueOrThrow({ where: { instanceId: "i1" } });
    expect(JSON.parse(open(row.dataEnc, credsAad("i1"), keys), BufferJSON.reviver).lastAccountSyncTimestamp).toBe(
      marker,
    );
    await Promise.all(sends);
    await until(
      "outage messages delivered both ways",
      async () => {
        const got = await inboxTexts();
        return outTexts.every((t) => got.has(t)) && inTexts.every((t) => inbound.has(t));
      },
      60_000,
      200,
    );
    expect({ decrypt: counts.decryptFailures - before.decrypt, stubs: counts.ciphertextStubs - before.stubs }).toEqual({
      decrypt: 0,
      stubs: 0,
    });
  }, 120_000);

  it("after recovery: 100 messages each way decrypt, not one Bad MAC or CIPHERTEXT stub", async () => {
    const before = {
      decrypt: counts.decryptFailures,
      stubs: counts.ciphertextStubs,
      failures: failures.length,
      retries: counts.retryRequests,
    };
    await exchange("after", 100);
    // the contact decrypted every copy the first time: a failure there comes back as a retry receipt
    expect(counts.retryRequests - before.retries, "retry receipts from Alice").toBe(0);
    console.info(
      JSON.stringify({
        after: 100,
        retryReceipts: counts.retryRequests - before.retries,
        decryptFailures: counts.decryptFailures - before.decrypt,
        ciphertextStubs: counts.ciphertextStubs - before.stubs,
        badMacWholeRun: counts.errors.filter((e) => /bad mac/i.test(e)).length,
        baileysErrorsWholeRun: [...new Set(counts.errors)],
      }),
    );
    expect({
      decrypt: counts.decryptFailures - before.decrypt,
      stubs: counts.ciphertextStubs - before.stubs,
      badMac: counts.errors.filter((e) => /bad mac/i.test(e)).length,
    }).toEqual({ decrypt: 0, stubs: 0, badMac: 0 });
    expect(failures.length - before.failures, "no write failed once Postgres was back").toBe(0);
  }, 180_000);

  it("a restart from what Postgres holds logs in without a QR and keeps decrypting both ways", async () => {
    sock.ev.removeAllListeners(undefined as never);
    sock.end(undefined);
    await new Promise((r) => setTimeout(r, 300));
    const fresh = await loadAuthState({ db: admin, instanceId: "i1", log, keys });
    expect(fresh.isRegistered()).toBe(true);
    sock = connect(fresh);
    let qr = false;
    sock.ev.on("connection.update", (u) => {
      if (u.qr) qr = true;
    });
    await waitFor(sock, "connection.update", (u) => u.connection === "open", 20_000);
    const before = { decrypt: counts.decryptFailures, stubs: counts.ciphertextStubs, retries: counts.retryRequests };
    await exchange("restarted", 20);
    expect(counts.retryRequests - before.retries, "retry receipts from Alice after the restart").toBe(0);
    expect(qr, "a QR after the restart = a rescan").toBe(false);
    expect({ decrypt: counts.decryptFailures - before.decrypt, stubs: counts.ciphertextStubs - before.stubs }).toEqual({
      decrypt: 0,
      stubs: 0,
    });
  }, 120_000);

  it("a held write gives up when the lease is lost (freeze) instead of landing over the next owner's", async () => {
    await admin.instance.create({ data: { id: "i2", locationId: "locA", name: "wa-02" } });
    const seen: WriteFailure[] = [];
    const a = await loadAuthState({
      db: keyDb,
      instanceId: "i2",
      log,
      keys,
      retry: { baseMs: 50, capMs: 200 },
      onWriteFailure: (f) => void seen.push(f),
    });
    proxy.cut();
    try {
      const held = a.state.keys.set({ session: { "x.0": new Uint8Array([1, 2, 3]) } });
      const creds = a.saveCreds();
      await until(
        "the writes are held",
        async () => seen.some((f) => f.kind === "keys") && seen.some((f) => f.kind === "creds"),
        20_000,
        50,
      );
      a.freeze();
      await expect(held).rejects.toBeInstanceOf(KeyStoreClosedError);
      await expect(creds).rejects.toBeInstanceOf(KeyStoreClosedError);
    } finally {
      proxy.restore();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await admin.waKey.count({ where: { instanceId: "i2" } })).toBe(0);
    expect(await admin.waCreds.count({ where: { instanceId: "i2" } })).toBe(0);
  });

  it("a write Postgres refuses for good fails at once and leaves nothing in the cache", async () => {
    const seen: WriteFailure[] = [];
    const a = await loadAuthState({ db: keyDb, instanceId: "i2", log, keys, onWriteFailure: (f) => void seen.push(f) });
    await a.state.keys.set({ session: { "kept.0": new Uint8Array([1]) } });
    await admin.$executeRawUnsafe(
      `ALTER TABLE "WaKey" ADD CONSTRAINT wa_key_outage_test CHECK ("keyId" <> 'refused.0')`,
    );
    try {
      await expect(
        a.state.keys.set({ session: { "kept.0": new Uint8Array([2]), "refused.0": new Uint8Array([3]) } }),
      ).rejects.toThrow();
    } finally {
      await admin.$executeRawUnsafe(`ALTER TABLE "WaKey" DROP CONSTRAINT wa_key_outage_test`);
    }
    expect(seen.map((f) => [f.kind, f.permanent, f.attempt])).toEqual([["keys", true, 1]]);
    // what the socket reads next is what Postgres holds, not what the refused write put in memory
    const got = await a.state.keys.get("session", ["kept.0", "refused.0"]);
    expect(Object.keys(got)).toEqual(["kept.0"]);
    expect([...(got["kept.0"] as Uint8Array)]).toEqual([1]);
  });

  it("flush() waits until a held write has landed (the session calls it before handing on the lease)", async () => {
    await admin.instance.create({ data: { id: "i3", locationId: "locA", name: "wa-03" } });
    const seen: WriteFailure[] = [];
    const a = await loadAuthState({
      db: keyDb,
      instanceId: "i3",
      log,
      keys,
      retry: { baseMs: 50, capMs: 200 },
      onWriteFailure: (f) => void seen.push(f),
    });
    proxy.cut();
    let flushed = false;
    try {
      const held = a.state.keys.set({ session: { "y.0": new Uint8Array([7]) } });
      await until("the write is held", async () => seen.length > 0, 20_000, 50);
      const flushing = a.flush().then(() => void (flushed = true));
      await new Promise((r) => setTimeout(r, 1000));
      expect(flushed, "flushed while Postgres was still gone").toBe(false);
      proxy.restore();
      await flushing;
      await held;
    } finally {
      proxy.restore();
    }
    expect(await admin.waKey.count({ where: { instanceId: "i3" } })).toBe(1);
  });

  it("a read during the outage waits for Postgres and then answers from it", async () => {
    const a = await loadAuthState({ db: admin, instanceId: "i3", log, keys });
    await a.state.keys.set({ "sender-key": { "g@g.us::1::0": new Uint8Array([4, 2]) } });
    const seen: WriteFailure[] = [];
    const b = await loadAuthState({
      db: keyDb,
      instanceId: "i3",
      log,
      keys,
      retry: { baseMs: 50, capMs: 200 },
      onWriteFailure: (f) => void seen.push(f),
    });
    proxy.cut();
    let answered = false;
    try {
      const reading = Promise.resolve(b.state.keys.get("sender-key", ["g@g.us::1::0"])).finally(
        () => void (answered = true),
      );
      await until("the read is held", async () => seen.some((f) => f.kind === "read"), 20_000, 50);
      expect(answered).toBe(false);
      proxy.restore();
      expect([...((await reading)["g@g.us::1::0"] as Uint8Array)]).toEqual([4, 2]);
    } finally {
      proxy.restore();
    }
  });
});
