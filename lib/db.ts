import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client";
import { env } from "./env";

// One client per process. Next's dev server reloads modules, so the instance lives on globalThis.
const g = globalThis as unknown as { __prisma?: PrismaClient };

export function createDb(databaseUrl: string, max = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max }) });
}

export function db(): PrismaClient {
  g.__prisma ??= createDb(env().DATABASE_URL);
  return g.__prisma;
}

export async function closeDb() {
  await g.__prisma?.$disconnect();
  g.__prisma = undefined;
}

export type Db = PrismaClient;
export type { Prisma } from "./generated/prisma/client";
