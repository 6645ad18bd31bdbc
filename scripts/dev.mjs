#!/usr/bin/env node
// `npm run dev`: from a fresh clone to a running product on the sandbox simulators.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  ensureDatabase,
  ensureDependencies,
  fail,
  findPostgres,
  findRedis,
  loadDotEnv,
  migrate,
  root,
  say,
} from "./lib/bootstrap.mjs";

ensureDependencies();
const { generatedSecrets, startStack } = await import("./lib/stack.mjs");

// First run: create .env with fresh secrets; later runs keep them (sessions stay decryptable).
const envFile = path.join(root, ".env");
if (!existsSync(envFile)) {
  const s = generatedSecrets();
  const example = readFileSync(path.join(root, ".env.example"), "utf8")
    .replace(/^ENCRYPTION_KEY=.*$/m, `ENCRYPTION_KEY=${s.ENCRYPTION_KEY}`)
    .replace(/^NEXTAUTH_SECRET=.*$/m, `NEXTAUTH_SECRET=${s.NEXTAUTH_SECRET}`);
  writeFileSync(envFile, example, { mode: 0o600 });
  say("created .env with fresh secrets (keep it: it decrypts your stored sessions)");
}
const fileEnv = { ...loadDotEnv(envFile), ...pick(process.env) };
if (!fileEnv.ENCRYPTION_KEY || !fileEnv.NEXTAUTH_SECRET) {
  const s = generatedSecrets();
  appendFileSync(
    envFile,
    `\nENCRYPTION_KEY=${fileEnv.ENCRYPTION_KEY || s.ENCRYPTION_KEY}\nNEXTAUTH_SECRET=${fileEnv.NEXTAUTH_SECRET || s.NEXTAUTH_SECRET}\n`,
  );
  Object.assign(fileEnv, loadDotEnv(envFile));
}

const pg = await findPostgres(fileEnv.DATABASE_URL);
say(`Postgres: ${pg.how}`);
const rd = await findRedis(fileEnv.REDIS_URL);
say(`Redis: ${rd.how}`);
// a configured URL names its database; otherwise the project uses its own on the found server
const dbName = pg.how === "configured DATABASE_URL" ? new URL(pg.url).pathname.slice(1) || "ghl_wa_dev" : "ghl_wa_dev";
const databaseUrl = await ensureDatabase(pg.url, dbName);
migrate(databaseUrl);

const port = (k, d) => Number(fileEnv[k] || d);
let stack;
try {
  stack = await startStack({
    appPort: port("PORT", 3000),
    ghlPort: port("SANDBOX_GHL_PORT", 4010),
    waPort: port("SANDBOX_WA_PORT", 4020),
    workerPort: port("WORKER_HTTP_PORT", 9464),
    databaseUrl,
    redisUrl: rd.url,
    secrets: { ENCRYPTION_KEY: fileEnv.ENCRYPTION_KEY, NEXTAUTH_SECRET: fileEnv.NEXTAUTH_SECRET },
    mode: "dev",
    extraEnv: { LOG_LEVEL: fileEnv.LOG_LEVEL || "info" },
  });
} catch (e) {
  fail(e.message);
}

const g = stack.runtime.ghl.url;
const firstLocation = stack.runtime.ghl.locations?.[0];
say("ready");
console.log(`
  App              ${stack.appUrl}            (health: /api/health, readiness: /api/ready)
  GHL simulator    ${g}
  WA simulator     ${stack.runtime.wa.url}  (WebSocket ${stack.runtime.wa.wsUrl})

  1. Install:      ${stack.appUrl}/api/oauth/install   (pick a location in the sandbox Marketplace)
  2. Panel in GHL: ${g}/location/${firstLocation?.id ?? "<locationId>"}/custom-page
  3. Conversations:${g}/location/${firstLocation?.id ?? "<locationId>"}/conversations

  Sandbox GHL app: client_id=${stack.env.GHL_CLIENT_ID}  shared secret=${stack.env.GHL_SSO_KEY}
  Ctrl-C stops everything this command started.
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  say("stopping…");
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
for (const c of stack.children) {
  c.on("exit", (code, signal) => {
    if (!stopping) say(`a process exited (code ${code}, signal ${signal}); press Ctrl-C to stop the rest`);
  });
}

function pick(e) {
  const keys = ["DATABASE_URL", "REDIS_URL", "ENCRYPTION_KEY", "NEXTAUTH_SECRET", "PORT", "LOG_LEVEL"];
  return Object.fromEntries(keys.filter((k) => e[k]).map((k) => [k, e[k]]));
}
