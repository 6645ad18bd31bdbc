import { createHash } from "node:crypto";
import { db } from "@/lib/db";
import { refreshTenant } from "@/lib/ghl/token-refresh";
import { redis } from "@/lib/redis";

// One app or worker process told to refresh a tenant whose token it saw expire. It connects, says
// "ready", and refreshes when the test says "go" (to both twins at once); then prints the
// fingerprint of the access token it ended up with.
const { locationId, seenExpiry } = JSON.parse(process.argv[2]) as { locationId: string; seenExpiry: string };
await db().location.count();
await redis().ping();
process.stdout.write("ready\n");
await new Promise((r) => process.stdin.once("data", r));
process.stdin.destroy();
try {
  const pair = await refreshTenant({ db: db(), redis: redis() }, "location", locationId, new Date(seenExpiry));
  process.stdout.write(
    `${JSON.stringify({ ok: true, access: createHash("sha256").update(pair.accessToken).digest("hex").slice(0, 12) })}\n`,
  );
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err) })}\n`);
}
await db().$disconnect();
redis().disconnect();
