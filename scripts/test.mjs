#!/usr/bin/env node
// `npm test`: the same bootstrap as `npm run dev`, then lint, typecheck, unit, integration and e2e tests.
//   npm test                 everything
//   npm test -- unit         only unit tests (also: lint, typecheck, integration, e2e, chaos; several may be named)
//   npm test -- integration wa-messaging   only the integration files whose names contain a word
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import {
  dataDir,
  ensureDatabase,
  ensureDependencies,
  fail,
  findPostgres,
  findRedis,
  migrate,
  root,
  say,
  startPgBouncer,
} from "./lib/bootstrap.mjs";

const PARTS = new Set(["lint", "typecheck", "unit", "integration", "pgbouncer", "e2e", "chaos"]);
const args = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const wanted = new Set(args.filter((a) => PARTS.has(a)));
// any other word narrows the integration files to those whose names contain it
const fileWords = args.filter((a) => !PARTS.has(a));
if (fileWords.length && wanted.size === 0) wanted.add("integration");
const want = (k) => wanted.size === 0 || wanted.has(k);
const started = Date.now();

ensureDependencies();
const { generatedSecrets } = await import("./lib/stack.mjs");
mkdirSync(dataDir, { recursive: true });

// Tests never use the developer's .env: their own databases, Redis DB index and fresh secrets.
const pg = await findPostgres(process.env.TEST_DATABASE_URL);
say(`Postgres: ${pg.how}`);
const rd = await findRedis(process.env.TEST_REDIS_URL);
say(`Redis: ${rd.how}`);
const templateUrl = await ensureDatabase(pg.url, "ghl_wa_test_template", { fresh: true });
migrate(templateUrl);

const secrets = generatedSecrets();
const testEnv = {
  ...process.env,
  NODE_ENV: "test",
  TEST_PG_SERVER_URL: pg.url,
  TEST_TEMPLATE_DB: "ghl_wa_test_template",
  TEST_REDIS_URL: rd.url,
  ...secrets,
};

const results = [];
const run = (name, cmd, args, extraEnv = {}) => {
  say(`${name}…`);
  const t = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...testEnv, ...extraEnv } });
  results.push({ name, ok: r.status === 0, seconds: Math.round((Date.now() - t) / 1000) });
  return r.status === 0;
};
const bin = (p) => path.join(root, "node_modules", ".bin", p);

// biome.json: the layers' import boundaries (lib never imports app/worker; the product and
// sandbox/ never import each other), process.env only in lib/env.ts and lib/log.ts, no unused imports
// and the formatting and import order (`npx biome check --write .` fixes both)
if (want("lint")) run("lint and format (biome)", bin("biome"), ["check", "--error-on-warnings", "."]);
if (want("typecheck")) run("typecheck", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]);

// Unit tests in one run; then each integration file in a process of its own: they share Postgres
// and Redis (each file flushes its Redis DB), some measure timing, and a file must not inherit
// anything (timers, sockets, process-wide state) from the one before it.
const vitestJsons = [];
const vitestRun = (name, args, file, extraEnv = {}) => {
  rmSync(file, { force: true });
  vitestJsons.push(file);
  return run(
    name,
    bin("vitest"),
    ["run", ...args, "--reporter=default", "--reporter=json", `--outputFile.json=${file}`],
    extraEnv,
  );
};
if (want("unit")) vitestRun("unit", ["--project", "unit"], path.join(dataDir, "vitest-unit.json"));
if (want("integration")) {
  const dir = path.join(root, "tests", "integration");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".test.ts") && (fileWords.length === 0 || fileWords.some((w) => f.includes(w))))
    .sort();
  for (const f of files)
    vitestRun(
      `integration: ${f}`,
      ["--project", "integration", path.join("tests", "integration", f)],
      path.join(dataDir, `vitest-int-${f}.json`),
    );
}

// The same integration files once more with every connection of the tests, the app and the
// worker through PgBouncer in transaction mode (README, "Connection pooling"): the ones that
// run the app's routes and the worker's sockets, transactions, upserts and the send queue.
const PGBOUNCER_FILES = [
  "accept-outbound",
  "concurrent-upserts",
  "delivery-route",
  "direct-api-send",
  "ghl-sync",
  "outbound-queue",
  "outbound-sender",
  "panel-routes",
  "wa-fleet-traffic",
  "wa-messaging",
  "wa-nothing-lost",
  "wa-sessions-fleet",
];
if (want("pgbouncer")) {
  ensurePgBouncer();
  const bouncer = await startPgBouncer(pg.url);
  if (!bouncer) {
    say("PgBouncer step skipped: no pgbouncer binary (Debian: apt-get install -y pgbouncer)");
    results.push({ name: "integration via PgBouncer (skipped: not installed)", ok: true, seconds: 0 });
  } else {
    say(`PgBouncer (transaction mode) on ${bouncer.port}`);
    try {
      for (const w of PGBOUNCER_FILES) {
        const f = `${w}.test.ts`;
        vitestRun(
          `via PgBouncer: ${f}`,
          ["--project", "integration", path.join("tests", "integration", f)],
          path.join(dataDir, `vitest-pgb-${f}.json`),
          { TEST_PGBOUNCER_URL: bouncer.url },
        );
      }
    } finally {
      bouncer.stop();
    }
  }
}

const pwJson = path.join(dataDir, "playwright-results.json");
rmSync(pwJson, { force: true });
if (want("e2e")) {
  ensureChromium();
  if (run("next build", bin("next"), ["build"], { NODE_ENV: "production" })) {
    run("e2e (Playwright + Chromium)", bin("playwright"), ["test"], { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson });
  }
}

// The short chaos run (tests/bench/chaos.ts, through scripts/chaos.mjs): 60 messages each way
// through 3 worker SIGKILLs, a Redis wipe, a 10 s Postgres stop and a GHL 429 and 5xx burst, on a
// Postgres and Redis of its own; lost, duplicated, statuses lost, rescans and second connections
// must end at zero, and so must out-of-order counts in both directions (decision 011 keeps a
// contact's order across retry receipts and the offline replay). A step of every full `npm test`
// (about 2 minutes); `npm test -- chaos` runs it alone, CHAOS_IN_TEST=0 leaves it out of a local run.
if (wanted.has("chaos") || (wanted.size === 0 && process.env.CHAOS_IN_TEST !== "0")) {
  const built = results.some((r) => r.name === "next build" && r.ok); // the e2e step's build, just made
  run(
    "chaos (short)",
    process.execPath,
    [
      path.join(root, "scripts", "chaos.mjs"),
      "60",
      "--in-place",
      "--seed",
      "1",
      "--kills",
      "3",
      "--redis-wipes",
      "1",
      "--pg-stops",
      "1",
      "--ghl-bursts",
      "2",
    ],
    built ? { CHAOS_NO_BUILD: "1" } : {},
  );
}

// One closing line that any CI can read: "N passed, N failed".
let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of vitestJsons.filter((x) => existsSync(x))) {
  const v = JSON.parse(readFileSync(f, "utf8"));
  passed += v.numPassedTests ?? 0;
  failed += v.numFailedTests ?? 0;
  skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
}
if (existsSync(pwJson)) {
  const p = JSON.parse(readFileSync(pwJson, "utf8"));
  // "flaky" = failed once, passed on its retry: counted as passed, and named below
  passed += (p.stats?.expected ?? 0) + (p.stats?.flaky ?? 0);
  failed += p.stats?.unexpected ?? 0;
  skipped += p.stats?.skipped ?? 0;
  if (p.stats?.flaky) console.log(`  ${p.stats.flaky} e2e test(s) passed only on their retry`);
}
const stepFailures = results.filter((r) => !r.ok);
console.log("");
for (const r of results) console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.seconds} s)`);
console.log(`  total ${Math.round((Date.now() - started) / 1000)} s`);
if (stepFailures.length && failed === 0) failed = stepFailures.length;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(stepFailures.length ? 1 : 0);

function ensurePgBouncer() {
  if (existsSync("/usr/sbin/pgbouncer")) return;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    say("installing PgBouncer from Debian's packages (apt-get install -y pgbouncer)…");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () =>
      spawnSync("apt-get", ["install", "-y", "-qq", "pgbouncer"], { stdio: "inherit", env }).status === 0;
    if (!install()) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
      install();
    }
  }
}

function ensureChromium() {
  if (process.env.CHROMIUM_PATH && existsSync(process.env.CHROMIUM_PATH)) return;
  if (existsSync("/usr/bin/chromium")) return;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    say("installing Chromium from Debian's packages (apt-get install -y chromium)…");
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    const r = spawnSync("apt-get", ["install", "-y", "-qq", "chromium"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status === 0 && existsSync("/usr/bin/chromium")) return;
  }
  fail("Chromium is needed for the e2e tests: run `sudo apt-get install -y chromium` (or set CHROMIUM_PATH).");
}
