import { readdirSync } from "node:fs";
import path from "node:path";
import type { Redis } from "ioredis";
import type { Db } from "../db";

// What /api/ready reports: each dependency with ok/error, so a 503 says which one failed.
export type Check = { ok: boolean; error?: string; detail?: unknown };
export type Readiness = { ok: boolean; checks: Record<"postgres" | "migrations" | "redis" | "worker", Check> };

export const WORKER_HEARTBEAT_PREFIX = "gw:worker:heartbeat:";

export async function checkReadiness(deps: { db: Db; redis: Redis; migrationsDir?: string }): Promise<Readiness> {
  const [postgres, migrations, redisCheck, worker] = await Promise.all([
    guard(async () => {
      await deps.db.$queryRaw`SELECT 1`;
    }),
    guard(async () => {
      const expected = listMigrationNames(deps.migrationsDir);
      const rows = await deps.db.$queryRaw<{ migration_name: string }[]>`
        SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
      const applied = new Set(rows.map((r) => r.migration_name));
      const pending = expected.filter((m) => !applied.has(m));
      if (pending.length) throw new Error(`pending migrations: ${pending.join(", ")}`);
      return { applied: expected.length };
    }),
    guard(async () => {
      if ((await deps.redis.ping()) !== "PONG") throw new Error("unexpected PING answer");
    }),
    guard(async () => {
      const workers = await liveWorkers(deps.redis);
      if (workers.length === 0) throw new Error("no worker heartbeat in the last 15 s");
      return { workers };
    }),
  ]);
  const checks = { postgres, migrations, redis: redisCheck, worker };
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

/** What an anonymous caller sees: overall and per-check ok, no worker ids, errors or counts. */
export function publicReadiness(r: Readiness): { ok: boolean; checks: Record<string, { ok: boolean }> } {
  return { ok: r.ok, checks: Object.fromEntries(Object.entries(r.checks).map(([k, c]) => [k, { ok: c.ok }])) };
}

export async function liveWorkers(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${WORKER_HEARTBEAT_PREFIX}*`, "COUNT", 100);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys.map((k) => k.slice(WORKER_HEARTBEAT_PREFIX.length)).sort();
}

export function listMigrationNames(dir = path.join(process.cwd(), "prisma", "migrations")): string[] {
  return readdirSync(/*turbopackIgnore: true*/ dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

async function guard(fn: () => Promise<unknown>): Promise<Check> {
  try {
    const detail = await withTimeout(fn(), 3000);
    return detail === undefined ? { ok: true } : { ok: true, detail };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}
