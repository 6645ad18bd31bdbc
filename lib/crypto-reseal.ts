import { currentKeyId, DecryptError, type Keyring, resealed } from "./crypto";
import type { Db } from "./db";

// `npm run reseal` (scripts/reseal.mjs): after a key rotation, re-seal every secret stored in
// Postgres with the current ENCRYPTION_KEY, so that the previous key can then be dropped from
// ENCRYPTION_KEYS_PREVIOUS. Every sealed column, with the associated data its writer binds it to:
//
//   Company/Location.accessTokenEnc, .refreshTokenEnc   `<company|location>:<id>:<access|refresh>`  lib/tenants/token-store.ts
//   Location.webhookSecretEnc                           `webhook:<locationId>`                      lib/outgoing-webhooks/outgoing-webhooks.ts
//   WaCreds.dataEnc                                     `<instanceId>:creds:creds`                  worker/whatsapp/auth-state.ts
//   WaKey.valueEnc                                      `<instanceId>:<type>:<keyId>`               worker/whatsapp/auth-state.ts
//
// (tests/integration/reseal.test.ts writes rows through those writers' formulas and reads them back
// through the real readers, so a drift between this list and them fails there.)
//
// Idempotent and resumable: only values not sealed with the current key are read (a rerun after an
// interruption picks up where it stopped); each value is replaced with a compare-and-swap on the old
// ciphertext, so a row the app or the worker rewrote meanwhile (already with the current key) is
// left as it is. A value no key opens is counted and named (never its content) and left untouched.

/** resealed: replaced; raced: rewritten by someone else between our read and our write (left as is); failed: no key opens it */
export type ResealCounts = { resealed: number; raced: number; failed: number };
export type ResealReport = { tables: Record<string, ResealCounts>; failures: string[] };

type Options = { keys?: Keyring; batch?: number; onProgress?: (table: string, c: ResealCounts) => void };

export async function resealAll(db: Db, o: Options = {}): Promise<ResealReport> {
  const report: ResealReport = { tables: {}, failures: [] };
  const run = async (table: string, pass: (c: ResealCounts, fail: (what: string) => void) => Promise<void>) => {
    const c: ResealCounts = { resealed: 0, raced: 0, failed: 0 };
    report.tables[table] = c;
    await pass(c, (what) => {
      c.failed++;
      if (report.failures.length < 1000) report.failures.push(`${table} ${what}`);
    });
    o.onProgress?.(table, c);
  };
  await run("Company", (c, fail) => tokens(db, "company", c, fail, o));
  await run("Location", (c, fail) => tokens(db, "location", c, fail, o));
  await run("Location.webhookSecretEnc", (c, fail) => webhookSecrets(db, c, fail, o));
  await run("WaCreds", (c, fail) => waCreds(db, c, fail, o));
  await run("WaKey", (c, fail) => waKeys(db, c, fail, o));
  return report;
}

/** The prefix of every value sealed with the current key (`v1.<keyId>.`). */
const currentPrefix = (keys?: Keyring) => `v1.${keys ? currentKeyId(keys) : currentKeyId()}.`;

/** Re-seals one value, or tells why not: null = already current. */
function next(sealed: string, aad: string, keys: Keyring | undefined): { value: string | null } | { error: string } {
  try {
    return { value: keys ? resealed(sealed, aad, keys) : resealed(sealed, aad) };
  } catch (e) {
    return { error: e instanceof DecryptError ? e.message : String(e) };
  }
}

async function tokens(db: Db, kind: "company" | "location", c: ResealCounts, fail: (w: string) => void, o: Options) {
  const prefix = currentPrefix(o.keys);
  const stale = {
    OR: [
      { accessTokenEnc: { not: null }, NOT: { accessTokenEnc: { startsWith: prefix } } },
      { refreshTokenEnc: { not: null }, NOT: { refreshTokenEnc: { startsWith: prefix } } },
    ],
  };
  const select = { id: true, accessTokenEnc: true, refreshTokenEnc: true } as const;
  // keyset pagination (id > last seen), not Prisma's cursor: a cursor row deleted meanwhile (an
  // uninstall) would end the walk early
  let cursor = "";
  for (;;) {
    const page = {
      where: { AND: [stale, { id: { gt: cursor } }] },
      select,
      orderBy: { id: "asc" as const },
      take: o.batch ?? 200,
    };
    const rows = kind === "company" ? await db.company.findMany(page) : await db.location.findMany(page);
    if (rows.length === 0) return;
    for (const row of rows) {
      const data: { accessTokenEnc?: string; refreshTokenEnc?: string } = {};
      let broken = false;
      for (const col of ["accessTokenEnc", "refreshTokenEnc"] as const) {
        const v = row[col];
        if (!v) continue;
        const r = next(v, `${kind}:${row.id}:${col === "accessTokenEnc" ? "access" : "refresh"}`, o.keys);
        if ("error" in r) {
          fail(`${row.id} ${col}: ${r.error}`);
          broken = true;
        } else if (r.value) data[col] = r.value;
      }
      if (broken || Object.keys(data).length === 0) continue;
      // compare-and-swap on both old ciphertexts: a token refresh meanwhile wins
      const where = { id: row.id, accessTokenEnc: row.accessTokenEnc, refreshTokenEnc: row.refreshTokenEnc };
      const n =
        kind === "company"
          ? await db.company.updateMany({ where, data })
          : await db.location.updateMany({ where, data });
      if (n.count === 1) c.resealed++;
      else c.raced++;
    }
    cursor = rows[rows.length - 1].id;
  }
}

async function webhookSecrets(db: Db, c: ResealCounts, fail: (w: string) => void, o: Options) {
  const prefix = currentPrefix(o.keys);
  let cursor = "";
  for (;;) {
    const rows = await db.location.findMany({
      where: { webhookSecretEnc: { not: null }, NOT: { webhookSecretEnc: { startsWith: prefix } }, id: { gt: cursor } },
      select: { id: true, webhookSecretEnc: true },
      orderBy: { id: "asc" },
      take: o.batch ?? 200,
    });
    if (rows.length === 0) return;
    for (const row of rows) {
      const sealed = row.webhookSecretEnc!;
      const r = next(sealed, `webhook:${row.id}`, o.keys);
      if ("error" in r) fail(`${row.id} webhookSecretEnc: ${r.error}`);
      else if (!r.value) continue;
      else {
        // only if it still holds what was read: a new secret configured meanwhile wins
        const n = await db.location.updateMany({
          where: { id: row.id, webhookSecretEnc: sealed },
          data: { webhookSecretEnc: r.value },
        });
        if (n.count === 1) c.resealed++;
        else c.raced++;
      }
    }
    cursor = rows[rows.length - 1].id;
  }
}

async function waCreds(db: Db, c: ResealCounts, fail: (w: string) => void, o: Options) {
  const prefix = currentPrefix(o.keys);
  let cursor = "";
  for (;;) {
    const rows = await db.waCreds.findMany({
      where: { NOT: { dataEnc: { startsWith: prefix } }, instanceId: { gt: cursor } },
      select: { instanceId: true, dataEnc: true },
      orderBy: { instanceId: "asc" },
      take: o.batch ?? 200,
    });
    if (rows.length === 0) return;
    for (const row of rows) {
      const r = next(row.dataEnc, `${row.instanceId}:creds:creds`, o.keys);
      if ("error" in r) fail(`${row.instanceId}: ${r.error}`);
      else if (!r.value) continue;
      else {
        const n = await db.waCreds.updateMany({
          where: { instanceId: row.instanceId, dataEnc: row.dataEnc },
          data: { dataEnc: r.value },
        });
        if (n.count === 1) c.resealed++;
        else c.raced++;
      }
    }
    cursor = rows[rows.length - 1].instanceId;
  }
}

async function waKeys(db: Db, c: ResealCounts, fail: (w: string) => void, o: Options) {
  const prefix = currentPrefix(o.keys);
  let cursor = { instanceId: "", type: "", keyId: "" };
  for (;;) {
    // the primary key's order, resumed after the last row seen (a row comparison uses the index)
    const rows = await db.$queryRaw<{ instanceId: string; type: string; keyId: string; valueEnc: string }[]>`
      SELECT "instanceId", "type", "keyId", "valueEnc" FROM "WaKey"
      WHERE NOT starts_with("valueEnc", ${prefix}) AND ("instanceId", "type", "keyId") > (${cursor.instanceId}, ${cursor.type}, ${cursor.keyId})
      ORDER BY "instanceId", "type", "keyId" LIMIT ${o.batch ?? 500}`;
    if (rows.length === 0) return;
    for (const row of rows) {
      const r = next(row.valueEnc, `${row.instanceId}:${row.type}:${row.keyId}`, o.keys);
      if ("error" in r) fail(`${row.instanceId} ${row.type}:${row.keyId}: ${r.error}`);
      else if (!r.value) continue;
      else {
        const n = await db.waKey.updateMany({
          where: { instanceId: row.instanceId, type: row.type, keyId: row.keyId, valueEnc: row.valueEnc },
          data: { valueEnc: r.value },
        });
        if (n.count === 1) c.resealed++;
        else c.raced++;
      }
    }
    const last = rows[rows.length - 1];
    cursor = { instanceId: last.instanceId, type: last.type, keyId: last.keyId };
  }
}
