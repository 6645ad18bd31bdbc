import { PrismaPg } from "@prisma/adapter-pg";
import { env } from "./env";
import { PrismaClient } from "./generated/prisma/client";

// One client per process. Next's dev server reloads modules, so the instance lives on globalThis.
const g = globalThis as unknown as { __prisma?: PrismaClient };

export function createDb(databaseUrl: string, max = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max }) });
}

export function db(): PrismaClient {
  g.__prisma ??= createDb(env().DATABASE_URL, env().DATABASE_POOL_SIZE);
  return g.__prisma;
}

export async function closeDb() {
  await g.__prisma?.$disconnect();
  g.__prisma = undefined;
}

export type Db = PrismaClient;
export type { Prisma } from "./generated/prisma/client";

/**
 * Runs a create-or-update again when a concurrent writer created the same unique key first.
 * Prisma's upsert only becomes one `INSERT … ON CONFLICT` in narrow cases (e.g. not with an empty
 * `update`); otherwise it reads, then creates, and the loser of a race gets P2002. On the second
 * try the row exists, so the write takes its update branch. Seen for real: the install callback
 * and GHL's INSTALL webhook creating the same company.
 */
export async function retryOnConflict<T>(write: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await write();
    } catch (e) {
      if ((e as { code?: string }).code !== "P2002" || i >= tries) throw e;
    }
  }
}
