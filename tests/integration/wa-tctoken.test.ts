import type { WASocket } from "@whiskeysockets/baileys";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyringFrom } from "@/lib/crypto";
import { createDb, type Db } from "@/lib/db";
import { startWaSimulator, type WaSimulator } from "@/sandbox/whatsapp/server";
import { control, waitFor } from "@/sandbox/whatsapp/test-kit";
import { loadAuthState, type PgAuthState, pgKeyStore } from "@/worker/whatsapp/auth-state";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { until } from "./helpers/wa-fixture";
import { type ClientCounts, connectWith, countingLogger, newCounts } from "./helpers/wa-keystore-kit";

// Privacy tokens through the worker's key store (auth-state + the shared AsyncLocalStorage it
// installs): rc14 issues its own token to a contact after a 1:1 send, from inside the send's
// keys transaction, and stores that it did (`senderTimestamp`) when the IQ comes back — after the
// transaction committed. Without the fix that write never reached the store (0 rows after 3,000
// sends in the bench) and every message issued again. Here: many sends to many contacts → at
// most one issuance per contact (7-day bucket), every contact's token state in WaKey, sealed,
// tokens from the contacts' privacy_token notifications stored too, and nothing issued again
// after a restart from Postgres.
const ME = "15556660001";
const CONTACTS = Number(process.env.WA_TCTOKEN_CONTACTS ?? 50);
const SENDS = Number(process.env.WA_TCTOKEN_SENDS ?? 1000);
const contacts = Array.from({ length: CONTACTS }, (_, i) => `1555667${String(i).padStart(4, "0")}`);
const writersFirst = contacts.filter((_, i) => i % 2 === 0); // these write to ME before ME writes to them
const keys = keyringFrom(process.env.ENCRYPTION_KEY!);
const log = pino({ level: "silent" });
const BUCKET = 604_800;

let db: Db;
let sim: WaSimulator;
let auth: PgAuthState;
let sock: WASocket;
const counts: ClientCounts = newCounts();
const lids = new Map<string, string>(); // phone → lid jid

type Device = { jid: string; tctokenIssuances?: Record<string, number> };
const simIssuances = async (): Promise<Record<string, number> | undefined> =>
  (await control<Device[]>(sim, "GET", "/__sandbox/devices")).body.find((d) => d.jid.startsWith(ME))?.tctokenIssuances;
const issuedTotal = () => [...counts.issuances.values()].reduce((a, b) => a + b, 0);

function connect(a: PgAuthState): WASocket {
  return connectWith(sim, a.state, countingLogger(counts, "trace"), () => void a.saveCreds().catch(() => {}));
}

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 6);
  await db.location.create({ data: { id: "locA", name: "A" } });
  await db.instance.create({ data: { id: "i1", locationId: "locA", name: "wa-01" } });
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  await control(sim, "POST", "/__sandbox/phones", { phone: ME });
  for (const phone of contacts) {
    const r = await control<{ lid: string }>(sim, "POST", "/__sandbox/phones", { phone });
    lids.set(phone, `${r.body.lid.replace(/@.*$/, "")}@lid`);
  }
  auth = await loadAuthState({ db, instanceId: "i1", log, keys });
  const first = connect(auth);
  const { qr } = await waitFor(first, "connection.update", (u) => !!u.qr, 20_000);
  const closed = waitFor(first, "connection.update", (u) => u.connection === "close", 20_000);
  await control(sim, "POST", `/__sandbox/phones/${ME}/scan`, { qr });
  await closed;
  sock = connect(auth);
  await waitFor(sock, "connection.update", (u) => u.connection === "open", 20_000);
}, 120_000);

afterAll(async () => {
  sock?.ev.removeAllListeners(undefined as never);
  sock?.end(undefined);
  await sim?.close();
  await db?.$disconnect();
});

describe("privacy tokens in the Postgres key store", () => {
  it(`${SENDS} sends to ${CONTACTS} contacts: at most one issuance per contact, every token state in WaKey`, async () => {
    // half the contacts write first: WhatsApp hands their token over in a privacy_token notification
    const seen = new Set<string>();
    sock.ev.on("messages.upsert", (u) => {
      for (const m of u.messages)
        if (m.message?.conversation?.startsWith("hello from ")) seen.add(m.message.conversation);
    });
    for (const phone of writersFirst)
      await control(sim, "POST", `/__sandbox/phones/${phone}/send`, { to: ME, text: `hello from ${phone}` });
    await until("the first messages arrived", async () => seen.size === writersFirst.length, 60_000, 200);

    counts.issuances.clear();
    const t0 = Date.now();
    for (let i = 0; i < SENDS; i++)
      await sock.sendMessage(`${contacts[i % CONTACTS]}@s.whatsapp.net`, { text: `message ${i}` });
    const sendMs = Date.now() - t0;
    // issuance is fire-and-forget: let the last IQs come back and their writes land
    await until(
      "every contact's issuance state stored",
      async () =>
        (await db.waKey.count({ where: { instanceId: "i1", type: "tctoken", keyId: { in: [...lids.values()] } } })) ===
        CONTACTS,
      30_000,
      200,
    );

    const perContact = [...counts.issuances.values()];
    const fromSim = await simIssuances();
    console.info(
      JSON.stringify({
        sends: SENDS,
        contacts: CONTACTS,
        sendMs,
        issuanceIqs: issuedTotal(),
        contactsIssued: perContact.length,
        maxPerContact: Math.max(0, ...perContact),
        simCounter: fromSim ? Object.values(fromSim).reduce((a, b) => a + b, 0) : "n/a",
      }),
    );
    expect(perContact.length, "every contact got our token").toBe(CONTACTS);
    expect(Math.max(...perContact), "issuances per contact (client side)").toBe(1);
    if (fromSim) {
      expect(Object.keys(fromSim).length).toBe(CONTACTS);
      expect(Math.max(...Object.values(fromSim)), "issuances per contact (simulator)").toBe(1);
    }

    // in WaKey: one row per contact (keyed by LID, as Baileys keys them) plus Baileys' index,
    // sealed like every key, with our issuance in the current 7-day bucket
    const rows = await db.waKey.findMany({ where: { instanceId: "i1", type: "tctoken" } });
    expect(rows.length).toBe(CONTACTS + 1);
    for (const r of rows) {
      expect(r.valueEnc.startsWith("v1.")).toBe(true);
      expect(r.valueEnc).not.toContain(r.keyId.split("@")[0]);
    }
    const store = pgKeyStore({ db, instanceId: "i1", log, keys }, () => false);
    const stored = await store.get("tctoken", [...lids.values()]);
    const bucket = Math.floor(Date.now() / 1000 / BUCKET);
    for (const phone of contacts) {
      const e = stored[lids.get(phone)!];
      expect(e, phone).toBeDefined();
      expect(Math.floor(Number(e.senderTimestamp) / BUCKET), `${phone}: issued this bucket`).toBe(bucket);
    }
  }, 600_000);

  it("tokens from the contacts' privacy_token notifications are stored and sent back", async () => {
    const store = pgKeyStore({ db, instanceId: "i1", log, keys }, () => false);
    const stored = await store.get(
      "tctoken",
      writersFirst.map((p) => lids.get(p)!),
    );
    const withToken = writersFirst.filter((p) => (stored[lids.get(p)!]?.token?.length ?? 0) > 0);
    const simSendsTokens = (await simIssuances()) !== undefined;
    console.info(
      JSON.stringify({
        writersFirst: writersFirst.length,
        tokensStored: withToken.length,
        simulatorSendsPrivacyTokens: simSendsTokens,
      }),
    );
    if (!simSendsTokens) return; // a simulator without privacy_token notifications: nothing to store
    expect(withToken.length).toBe(writersFirst.length);
    for (const p of writersFirst) expect(Number(stored[lids.get(p)!].timestamp)).toBeGreaterThan(0);
    // our messages to them carry it (the simulator checks it against the token it handed out)
    const inbox = (await control<{ tctoken?: boolean }[]>(sim, "GET", `/__sandbox/phones/${writersFirst[0]}/inbox`))
      .body;
    expect(inbox.length).toBeGreaterThan(0);
    expect(inbox.every((e) => e.tctoken === true)).toBe(true);
  });

  it("after a restart from Postgres: more sends, no issuance again within the bucket", async () => {
    sock.ev.removeAllListeners(undefined as never);
    sock.end(undefined);
    await new Promise((r) => setTimeout(r, 300));
    auth = await loadAuthState({ db, instanceId: "i1", log, keys });
    sock = connect(auth);
    await waitFor(sock, "connection.update", (u) => u.connection === "open", 20_000);
    const simBefore = await simIssuances();
    counts.issuances.clear();
    for (let i = 0; i < CONTACTS * 2; i++)
      await sock.sendMessage(`${contacts[i % CONTACTS]}@s.whatsapp.net`, { text: `after restart ${i}` });
    await new Promise((r) => setTimeout(r, 1500));
    expect(issuedTotal(), "issuances after the restart").toBe(0);
    if (simBefore) expect(await simIssuances()).toEqual(simBefore);
  }, 300_000);
});
