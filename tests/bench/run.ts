// `npm run bench`: benchmarks on the sandbox stack, printing one JSON line per measurement.
// Run on purpose (never by `npm test`). Sizes are arguments:
//   npm run bench -- delivery 100,300        Delivery URL latency at those rates (10 s each, after a 10 s warm-up)
//   npm run bench -- memory 100,500          worker RSS with N linked idle ONLINE numbers (linked
//                                            cumulatively: 100, then 400 more), after a settle
//                                            period (BENCH_SETTLE_S, 60) and a forced GC
//   npm run bench -- recovery 100,500 [newid] kill -9 the worker with N ONLINE, start a fresh one
//                                            (same WORKER_ID; `newid`: another id, so it waits
//                                            for the dead one's leases), time to all ONLINE, rescans
//   npm run bench -- outbound 100 50,300     pacing off: GHL sim Delivery URL → contacts' inboxes,
//                                            K numbers, each rate for BENCH_SECONDS (10) s
//   npm run bench -- drain 100 3000          the worker's own send capacity: 3000 QUEUED messages over
//                                            K numbers, all loops woken at once, time to all in inboxes
//   npm run bench -- inbound 100 100         contacts send at that rate over K numbers → GHL sim
//                                            receives POST /conversations/messages/inbound
//   npm run bench -- rebalance 600           one worker holds N numbers, a second one joins: time
//                                            to its share (±10 %), handovers/min, a trickle of
//                                            messages both ways meanwhile (rebalance.ts)
//   BENCH_RUNS (3): repetitions of each outbound/inbound rate and of each recovery, on the same
//   linked fleet, then a summary line with the medians (delivery always runs 3 per rate)
//   BENCH_IDLE_MIN=30 (memory): the leak check, RSS every BENCH_IDLE_STEP_MIN (5) minutes idle
//   BENCH_WORKER_CPU_PROF=<dir> (outbound, inbound): CPU profile + SQL statement counts of the
//   worker during each measured run
// Every mode stops by itself: BENCH_LIMIT_MIN (14) minutes at most (plus BENCH_IDLE_MIN), then all
// children are killed.
// BENCH_LINK_CONCURRENCY (8): numbers linked at once.

import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { ensureDatabase, root } from "../../scripts/lib/bootstrap.mjs";
import { freePort, startStack } from "../../scripts/lib/stack.mjs";
import { BenchWorker, installLocations, killAllWorkers, log } from "./fleet";
import * as fleet from "./fleet-modes";
import { rebalance } from "./rebalance";

const [what = "delivery", sizesArg, extraArg] = process.argv.slice(2);
const FLEET = ["memory", "recovery", "outbound", "inbound", "drain", "rebalance"];
const startedAt = Date.now();
// a leak check (BENCH_IDLE_MIN) extends the limit by its length
const limitMs = (Number(process.env.BENCH_LIMIT_MIN ?? 14) + Number(process.env.BENCH_IDLE_MIN ?? 0)) * 60_000;
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
};
// BENCH_NO_WATCHDOG=1 (fleet modes): the worker runs with InstanceSession's watchdog disabled (worker-probe.ts), a what-if
const variant =
  process.env.BENCH_NO_WATCHDOG === "1" ? { variant: "watchdog-disabled (not the product as shipped)" } : {};
const out = (o: Record<string, unknown>) =>
  process.stdout.write(
    JSON.stringify({ bench: what, ...variant, ...o, machine: { ...machine, at: new Date().toISOString() } }) + "\n",
  );

const server = process.env.TEST_PG_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const redisUrl = `${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}/3`;

async function main() {
  if (FLEET.includes(what)) return fleetMain();
  const dbUrl = await ensureDatabase(server, "ghl_wa_bench", { fresh: true });
  execFileSync(process.execPath, ["--import", "tsx", path.join(root, "prisma", "migrate.ts"), "deploy"], {
    env: { ...process.env, DATABASE_URL: dbUrl },
    stdio: "ignore",
  });
  const ed = generateKeyPairSync("ed25519", {
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const { Redis } = await import("ioredis");
  const r = new Redis(redisUrl);
  await r.flushdb();
  await r.quit();
  const stack = await startStack({
    appPort: await freePort(),
    ghlPort: await freePort(),
    waPort: await freePort(),
    workerPort: await freePort(),
    databaseUrl: dbUrl,
    redisUrl,
    mode: "prod",
    quiet: true,
    secrets: {
      ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 9).toString("base64")}`,
      NEXTAUTH_SECRET: "bench-secret-bench-secret-bench-secret",
    },
    extraEnv: { GHL_WEBHOOK_PUBLIC_KEY_ED25519: ed.publicKey, LOG_LEVEL: "error" },
  });
  const c = new pg.Client({ connectionString: dbUrl });
  c.on("error", (err) => process.stderr.write(`bench database connection lost: ${err.message}\n`)); // fail the run, not the process (the stack must be stopped)
  await c.connect();
  try {
    await c.query(`INSERT INTO "Location"(id, name, "updatedAt") VALUES ('benchLoc', 'Bench', now())`);
    // a number nobody links: the handler's work (verify, store, queue) is what is measured
    await c.query(
      `INSERT INTO "Instance"(id, "locationId", name, "desiredState", "updatedAt") VALUES ('benchInst', 'benchLoc', 'wa-01', 'STOPPED', now())`,
    );
    if (what === "delivery") {
      const load = (rate: number, seconds: number) => {
        const res = spawnSync(
          process.execPath,
          [
            "--import",
            "tsx",
            path.join(root, "tests/bench/load-delivery.ts"),
            `${stack.appUrl}/api/ghl/delivery`,
            String(rate),
            String(seconds),
            ed.privateKey,
            "benchLoc",
          ],
          { encoding: "utf8" },
        );
        return JSON.parse(res.stdout.trim().split("\n").pop()!);
      };
      const rates = (sizesArg ?? "100,300").split(",").map(Number);
      // a warm-up at the first rate, reported but not counted: a just-started server compiles its
      // routes and JIT-warms on the first thousands of requests (its first 10 s at 300/s: p99 4–6 s)
      const w = load(rates[0], 10);
      out({
        warmup: true,
        targetRps: rates[0],
        p50ms: w.p50ms,
        p99ms: w.p99ms,
        achievedRps: w.achievedRps,
        errors: w.errors,
      });
      for (const rate of rates) {
        const runs = [];
        for (let i = 0; i < 3; i++) runs.push(load(rate, 10));
        // runs in the order they ran; the median run by p99
        out({
          targetRps: rate,
          median: [...runs].sort((a, b) => a.p99ms - b.p99ms)[1],
          runs: runs.map((x) => ({ p50ms: x.p50ms, p99ms: x.p99ms, achievedRps: x.achievedRps, errors: x.errors })),
        });
      }
    } else {
      throw new Error(`unknown benchmark ${what} (delivery, ${FLEET.join(", ")})`);
    }
  } finally {
    await c.end();
    await stack.stop();
  }
}

// memory, recovery, outbound, inbound: the stack with pacing off, locations installed through
// OAuth, and a worker process of the benchmark's own in place of the stack's (for RSS, GC, kill -9)
async function fleetMain() {
  const sizes = (sizesArg ?? (what === "memory" || what === "recovery" ? "100" : "100")).split(",").map(Number);
  const dbUrl = await ensureDatabase(server, "ghl_wa_bench", { fresh: true });
  execFileSync(process.execPath, ["--import", "tsx", path.join(root, "prisma", "migrate.ts"), "deploy"], {
    env: { ...process.env, DATABASE_URL: dbUrl },
    stdio: "ignore",
  });
  const { Redis } = await import("ioredis");
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  const workerPort = await freePort();
  const stack = await startStack({
    appPort: await freePort(),
    ghlPort: await freePort(),
    waPort: await freePort(),
    workerPort,
    databaseUrl: dbUrl,
    redisUrl,
    mode: "prod",
    quiet: true,
    secrets: {
      ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 9).toString("base64")}`,
      NEXTAUTH_SECRET: "bench-secret-bench-secret-bench-secret",
    },
    extraEnv: { LOG_LEVEL: "error", TEXT_DELAY_MS: "0", MEDIA_DELAY_MS_MIN: "0", MEDIA_DELAY_MS_MAX: "0" },
  });
  const c = new pg.Client({ connectionString: dbUrl });
  c.on("error", (err) => process.stderr.write(`bench database connection lost: ${err.message}\n`)); // fail the run, not the process (the stack must be stopped)
  let worker: BenchWorker | undefined;
  const onSignal = () => {
    killAllWorkers();
    void stack.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  const hardLimit = setTimeout(() => {
    process.stderr.write(`time limit (${limitMs / 60_000} min) reached: stopping everything\n`);
    killAllWorkers();
    void stack.stop().finally(() => process.exit(3));
  }, limitMs);
  try {
    await c.connect();
    // the stack's worker leaves (gracefully, it owns nothing yet); ours takes its place
    const sw = stack.workers[0];
    if (sw) {
      const gone = new Promise((r) => sw.once("exit", r));
      process.kill(-sw.pid!, "SIGTERM");
      await gone;
    }
    const workerEnv = {
      ...stack.env,
      ...(process.env.BENCH_WORKER_LOG_LEVEL ? { LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL } : {}),
    };
    const mk = (id: string) => new BenchWorker(root, workerEnv, id, workerPort);
    worker = mk("bench-worker");
    const readySeconds = await worker.start();
    log(`worker pid ${worker.pid} ready in ${readySeconds.toFixed(1)} s`);
    const nLocations = Math.min(20, Math.max(...sizes));
    const locations = await installLocations(stack.appUrl, stack.runtime.ghl.url, nLocations);
    log(`${locations.length} locations installed through OAuth`);
    const ctx: fleet.FleetCtx = {
      db: c,
      redis,
      redisUrl,
      appUrl: stack.appUrl,
      ghlUrl: stack.runtime.ghl.url,
      waUrl: stack.runtime.wa.url,
      locations,
      worker,
      appPgid: stack.children[1]?.pid,
      sandboxPgid: stack.children[0]?.pid,
      out,
      remainingMs: () => limitMs - (Date.now() - startedAt),
      linkConcurrency: Number(process.env.BENCH_LINK_CONCURRENCY ?? 8),
    };
    const seconds = Number(process.env.BENCH_SECONDS ?? 10);
    if (what === "memory") await fleet.memory(ctx, sizes);
    else if (what === "recovery")
      await fleet.recovery(ctx, sizes, { newWorkerId: extraArg === "newid", makeWorker: mk });
    else if (what === "outbound")
      await fleet.outbound(ctx, sizes[0], (extraArg ?? "50,300").split(",").map(Number), seconds);
    else if (what === "drain") await fleet.drain(ctx, sizes[0], Number(extraArg ?? 3000));
    else if (what === "rebalance") {
      // the second worker runs beside the first: its own HTTP port
      const port2 = await freePort();
      await rebalance(ctx, sizes[0], (id) => new BenchWorker(root, workerEnv, id, port2));
    } else await fleet.inbound(ctx, sizes[0], (extraArg ?? "100").split(",").map(Number), seconds);
    worker = ctx.worker;
  } finally {
    clearTimeout(hardLimit);
    await worker?.stop().catch(() => {});
    killAllWorkers();
    await c.end().catch(() => {});
    await redis.quit().catch(() => {});
    await stack.stop();
  }
}

process.on("exit", killAllWorkers);
main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  },
);
