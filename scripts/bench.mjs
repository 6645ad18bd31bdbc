#!/usr/bin/env node
// `npm run bench -- <what> <sizes>`: the test bootstrap (services, built app), then tests/bench/run.ts.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { ensureDependencies, findPostgres, findRedis, root, say } from "./lib/bootstrap.mjs";

ensureDependencies();
const pg = await findPostgres(process.env.TEST_DATABASE_URL);
const rd = await findRedis(process.env.TEST_REDIS_URL);
// always a fresh build (a stale one would measure yesterday's code); BENCH_NO_BUILD=1 skips it
if (!process.env.BENCH_NO_BUILD || !existsSync(path.join(root, ".next", "BUILD_ID"))) {
  say("building the app (next build)…");
  spawnSync(path.join(root, "node_modules", ".bin", "next"), ["build"], { cwd: root, stdio: "inherit", env: { ...process.env, NODE_ENV: "production" } });
}
const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tests", "bench", "run.ts"), ...process.argv.slice(2)], {
  cwd: root, stdio: "inherit", env: { ...process.env, TEST_PG_SERVER_URL: pg.url, TEST_REDIS_URL: rd.url },
});
process.exit(r.status ?? 1);
