#!/usr/bin/env node
// `npm run reseal`: after an encryption key rotation, re-seal every secret stored in Postgres (OAuth
// tokens, WhatsApp credentials and signal keys, outgoing-webhook secrets) with the current
// ENCRYPTION_KEY, so the previous key can be removed from ENCRYPTION_KEYS_PREVIOUS. Safe to run
// while the app and the worker run, safe to interrupt and run again (lib/crypto-reseal.ts).
// Reads the same configuration as the app (the environment, then .env). Exit 1 if any value could
// not be opened with the configured keys (named in the output, never its content).
import { tsImport } from "tsx/esm/api";
import { loadDotEnv } from "./lib/bootstrap.mjs";

for (const [k, v] of Object.entries(loadDotEnv())) if (process.env[k] === undefined) process.env[k] = v;

const { resealAll } = await tsImport("../lib/crypto-reseal.ts", import.meta.url);
const { db, closeDb } = await tsImport("../lib/db.ts", import.meta.url);
const { currentKeyId } = await tsImport("../lib/crypto.ts", import.meta.url);

const started = Date.now();
console.log(`re-sealing stored secrets with key ${currentKeyId()}…`);
try {
  const report = await resealAll(db(), {
    onProgress: (table, c) =>
      console.log(`  ${table}: ${c.resealed} re-sealed, ${c.raced} rewritten meanwhile, ${c.failed} cannot be opened`),
  });
  for (const f of report.failures) console.error(`  cannot open: ${f}`);
  const sum = (k) => Object.values(report.tables).reduce((n, c) => n + c[k], 0);
  const failed = sum("failed");
  const raced = sum("raced");
  console.log(`done in ${Date.now() - started} ms`);
  if (raced)
    console.log(
      `${raced} value(s) were rewritten by the app or the worker meanwhile: run again to check (a clean run re-seals 0)`,
    );
  if (failed)
    console.log(`${failed} value(s) could not be opened: keep the keys that sealed them in ENCRYPTION_KEYS_PREVIOUS`);
  if (!raced && !failed) console.log("nothing in Postgres is sealed with an older key any more");
  process.exitCode = failed ? 1 : 0;
} finally {
  await closeDb();
}
