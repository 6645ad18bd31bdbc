// `npm run bench`: benchmarks on the sandbox stack, printing one JSON line per measurement.
// Run on purpose (never by `npm test`). Sizes are arguments:
//   npm run bench -- delivery 100,300        Delivery URL latency at those rates (10 s each)
//   npm run bench -- memory 20               worker RSS with N linked idle ONLINE numbers
import { generateKeyPairSync } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { ensureDatabase, root } from "../../scripts/lib/bootstrap.mjs";
import { startStack } from "../../scripts/lib/stack.mjs";

const [what = "delivery", sizesArg] = process.argv.slice(2);
const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() };
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ bench: what, ...o, machine }) + "\n");

const server = process.env.TEST_PG_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const redisUrl = `${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}/3`;

async function main() {
  const dbUrl = await ensureDatabase(server, "ghl_wa_bench", { fresh: true });
  execFileSync(process.execPath, ["--import", "tsx", path.join(root, "prisma", "migrate.ts"), "deploy"], { env: { ...process.env, DATABASE_URL: dbUrl }, stdio: "ignore" });
  const ed = generateKeyPairSync("ed25519", { publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  const { Redis } = await import("ioredis");
  const r = new Redis(redisUrl);
  await r.flushdb();
  await r.quit();
  const port = () => 20000 + Math.floor(Math.random() * 20000);
  const stack = await startStack({
    appPort: port(), ghlPort: port(), waPort: port(), workerPort: port(), databaseUrl: dbUrl, redisUrl, mode: "prod", quiet: true,
    secrets: { ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 9).toString("base64")}`, NEXTAUTH_SECRET: "bench-secret-bench-secret-bench-secret" },
    extraEnv: { GHL_WEBHOOK_PUBLIC_KEY_ED25519: ed.publicKey, LOG_LEVEL: "error" },
  });
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    await c.query(`INSERT INTO "Location"(id, name, "updatedAt") VALUES ('benchLoc', 'Bench', now())`);
    // a number nobody links: the handler's work (verify, store, queue) is what is measured
    await c.query(`INSERT INTO "Instance"(id, "locationId", name, "desiredState", "updatedAt") VALUES ('benchInst', 'benchLoc', 'wa-01', 'STOPPED', now())`);
    if (what === "delivery") {
      for (const rate of (sizesArg ?? "100,300").split(",").map(Number)) {
        const runs = [];
        for (let i = 0; i < 3; i++) {
          const res = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "tests/bench/load-delivery.ts"), `${stack.appUrl}/api/ghl/delivery`, String(rate), "10", ed.privateKey, "benchLoc"], { encoding: "utf8" });
          runs.push(JSON.parse(res.stdout.trim().split("\n").pop()!));
        }
        runs.sort((a, b) => a.p99ms - b.p99ms);
        out({ targetRps: rate, median: runs[1], runs: runs.map((x) => ({ p50ms: x.p50ms, p99ms: x.p99ms, achievedRps: x.achievedRps, errors: x.errors })) });
      }
    } else {
      throw new Error(`unknown benchmark ${what} (delivery)`);
    }
  } finally {
    await c.end();
    await stack.stop();
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
