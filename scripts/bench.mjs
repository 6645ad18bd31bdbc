#!/usr/bin/env node
// `npm run bench -- <what> <sizes>`: the test bootstrap (services, built app), then tests/bench/run.ts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureDependencies, findPostgres, findRedis, root, say } from "./lib/bootstrap.mjs";

// one benchmark at a time: each recreates the bench database and flushes its Redis database, so a
// second one would cut the first's connections and leave its stack running against the new data
const lock = path.join(root, ".data", "bench.lock");
mkdirSync(path.dirname(lock), { recursive: true });
try {
  writeFileSync(lock, String(process.pid), { flag: "wx" });
} catch {
  const other = Number(readFileSync(lock, "utf8"));
  let alive = false;
  try {
    process.kill(other, 0);
    alive = true;
  } catch {}
  if (alive) {
    console.error(`another benchmark is running (pid ${other}); wait for it or stop it first`);
    process.exit(1);
  }
  writeFileSync(lock, String(process.pid));
}
process.on("exit", () => {
  try {
    if (readFileSync(lock, "utf8") === String(process.pid)) unlinkSync(lock);
  } catch {}
});

ensureDependencies();
const pg = await findPostgres(process.env.TEST_DATABASE_URL);
const rd = await findRedis(process.env.TEST_REDIS_URL);
// always a fresh build (a stale one would measure yesterday's code); BENCH_NO_BUILD=1 skips it
if (!process.env.BENCH_NO_BUILD || !existsSync(path.join(root, ".next", "BUILD_ID"))) {
  say("building the app (next build)…");
  spawnSync(path.join(root, "node_modules", ".bin", "next"), ["build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production" },
  });
}
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", path.join(root, "tests", "bench", "run.ts"), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TEST_PG_SERVER_URL: pg.url, TEST_REDIS_URL: rd.url },
  },
);
process.exit(r.status ?? 1);
