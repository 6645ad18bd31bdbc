import { z } from "zod";
import { AppError, badRequest } from "@/lib/errors";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/ghl/inbound-test — a local receiver that records what would be forwarded (testing an
// automation without GHL); GET lists the last 50 received for the key's location.
const key = (locationId: string) => `gw:inbound-test:${locationId}`;
const bodySchema = z.record(z.string(), z.unknown());

export const POST = withAuth({ via: ["api-key"] }, async (req, auth) => {
  const body = bodySchema.parse(await jsonBody(req));
  const entry = serialise({ receivedAt: new Date().toISOString(), body });
  if (entry.length > 64_000) throw new AppError("payload_too_large", "body larger than 64 kB");
  await redis()
    .multi()
    .lpush(key(auth.locationId), entry)
    .ltrim(key(auth.locationId), 0, 49)
    .expire(key(auth.locationId), 7 * 86400)
    .exec();
  return Response.json({ ok: true }, { status: 201 });
});

export const GET = withAuth({ via: ["api-key"] }, async (_req, auth) => {
  const items = await redis().lrange(key(auth.locationId), 0, 49);
  return Response.json({ received: items.map((i) => JSON.parse(i)) });
});

// JSON.parse accepts nesting that JSON.stringify cannot walk back (it recurses): too deep is bad input
function serialise(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (e) {
    if (e instanceof RangeError) throw badRequest("the body is nested too deeply");
    throw e;
  }
}
