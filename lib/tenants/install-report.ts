import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { InstallResult } from "./install";

// The success page shows what an install did without putting tenant names in a URL: the callback
// stores the result under a random id for a few minutes and redirects to /installed?r=<id>.
const key = (id: string) => `gw:install-report:${id}`;
const schema = z.object({
  kind: z.enum(["location", "company"]),
  companyId: z.string().nullable(),
  locations: z.array(z.object({ id: z.string(), name: z.string().nullable() })),
});

export async function saveInstallReport(redis: Redis, r: InstallResult): Promise<string> {
  const id = randomBytes(18).toString("base64url");
  await redis.set(key(id), JSON.stringify(r), "EX", 900);
  return id;
}

export async function readInstallReport(redis: Redis, id: string): Promise<InstallResult | null> {
  if (!/^[A-Za-z0-9_-]{10,40}$/.test(id)) return null;
  const raw = await redis.get(key(id));
  if (!raw) return null;
  const r = schema.safeParse(JSON.parse(raw));
  return r.success ? r.data : null;
}
