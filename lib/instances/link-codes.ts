import type { Redis } from "ioredis";
import { z } from "zod";
import type { Db } from "../db";
import type { InstanceEvent } from "../events/live-events";

// What links a phone to a number while it waits for its scan: the current QR and, when asked
// for, a pairing code, each kept in Redis with what is left of its validity (written by the
// worker that owns the socket, cleared when it opens, closes, stops or logs out). One reader
// serves every path that shows them: the event streams (sent right after a client connects, so a
// panel opening or reconnecting does not wait for the next rotation) and the instances list and
// detail routes. Whoever receives one can link their phone, so only admins may
// (SECURITY.md, "QR codes and pairing codes"; docs/whatsapp.md#linking).

export const qrKey = (instanceId: string) => `gw:qr:${instanceId}`;
export const pairingCodeKey = (instanceId: string) => `gw:pairing-code:${instanceId}`;

/**
 * How long a pairing code is kept at most. It is valid as long as the socket that asked for it
 * (whose QR refs last 60 s + 5 × 20 s); the session clears it when that socket closes, so this
 * only bounds what a crashed worker leaves behind.
 */
export const PAIRING_CODE_TTL_MS = 180_000;

const qrEntry = z.object({ qr: z.string().min(1), expiresAt: z.string() });
const pairingEntry = z.object({ code: z.string().min(1), expiresAt: z.string() });
export type QrEntry = z.infer<typeof qrEntry>;
export type PairingEntry = z.infer<typeof pairingEntry>;
export type LinkCodes = { qr?: QrEntry; pairingCode?: PairingEntry };

/** The worker's write when Baileys emits a QR: kept exactly as long as it can be scanned. */
export async function storeQr(
  redis: Redis,
  instanceId: string,
  qr: string,
  lifetimeMs: number,
  now = Date.now(),
): Promise<QrEntry> {
  const e = { qr, expiresAt: new Date(now + lifetimeMs).toISOString() };
  await redis.set(qrKey(instanceId), JSON.stringify(e), "PX", Math.max(1, Math.round(lifetimeMs)));
  return e;
}

/** The worker's write when WhatsApp hands out a pairing code for the socket. */
export async function storePairingCode(
  redis: Redis,
  instanceId: string,
  code: string,
  lifetimeMs = PAIRING_CODE_TTL_MS,
  now = Date.now(),
): Promise<PairingEntry> {
  const e = { code, expiresAt: new Date(now + lifetimeMs).toISOString() };
  await redis.set(pairingCodeKey(instanceId), JSON.stringify(e), "PX", Math.max(1, Math.round(lifetimeMs)));
  return e;
}

/** The socket opened, closed, stopped or logged out: nothing it showed can link a phone any more. */
export async function clearLinkCodes(redis: Redis, instanceId: string): Promise<void> {
  await redis.del(qrKey(instanceId), pairingCodeKey(instanceId));
}

/**
 * The reader: the codes still valid for each instance (instances without any are absent). An
 * entry whose expiry has passed is left out even if Redis has not dropped it yet.
 */
export async function linkCodesOf(
  redis: Redis,
  instanceIds: readonly string[],
  now = Date.now(),
): Promise<Map<string, LinkCodes>> {
  const out = new Map<string, LinkCodes>();
  if (instanceIds.length === 0) return out;
  const raw = await redis.mget(...instanceIds.flatMap((id) => [qrKey(id), pairingCodeKey(id)]));
  instanceIds.forEach((id, i) => {
    const qr = parse(qrEntry, raw[2 * i], now);
    const pairingCode = parse(pairingEntry, raw[2 * i + 1], now);
    if (qr || pairingCode) out.set(id, { ...(qr ? { qr } : {}), ...(pairingCode ? { pairingCode } : {}) });
  });
  return out;
}

/** One instance's QR, if one is waiting (convenience over `linkCodesOf`). */
export async function latestQr(redis: Redis, instanceId: string): Promise<QrEntry | null> {
  return (await linkCodesOf(redis, [instanceId])).get(instanceId)?.qr ?? null;
}

/**
 * The codes waiting in one location (or one of its numbers) as the events a stream would have
 * carried live, to send right after a client connects. The instance ids come from the location's
 * own rows, so no other tenant's code can be read.
 */
export async function linkCodeEvents(
  db: Db,
  redis: Redis,
  locationId: string,
  instanceId?: string,
): Promise<InstanceEvent[]> {
  const rows = await db.instance.findMany({
    where: { locationId, ...(instanceId ? { id: instanceId } : {}) },
    select: { id: true },
  });
  const codes = await linkCodesOf(
    redis,
    rows.map((r) => r.id),
  );
  const events: InstanceEvent[] = [];
  for (const [id, c] of codes) {
    if (c.qr) events.push({ type: "instance.qr", instanceId: id, qr: c.qr.qr, expiresAt: c.qr.expiresAt });
    if (c.pairingCode)
      events.push({
        type: "instance.pairing-code",
        instanceId: id,
        code: c.pairingCode.code,
        expiresAt: c.pairingCode.expiresAt,
      });
  }
  return events;
}

/** What a list or detail answer carries: the codes for an admin, only that one waits for others. */
export const linkingViewSchema = z.object({
  qr: z.string().nullable().describe("The QR string to render (admins and API keys only)"),
  qrExpiresAt: z.string().nullable(),
  pairingCode: z.string().nullable().describe("The pairing code to type on the phone (admins and API keys only)"),
  pairingCodeExpiresAt: z.string().nullable(),
  withheld: z.literal("admin_required").optional().describe("Set when a code waits but only an admin may see it"),
});
export type LinkingView = z.infer<typeof linkingViewSchema>;
export function linkingView(c: LinkCodes | undefined, mayLinkAPhone: boolean): LinkingView | null {
  if (!c) return null;
  if (!mayLinkAPhone)
    return {
      qr: null,
      qrExpiresAt: c.qr?.expiresAt ?? null,
      pairingCode: null,
      pairingCodeExpiresAt: c.pairingCode?.expiresAt ?? null,
      withheld: "admin_required",
    };
  return {
    qr: c.qr?.qr ?? null,
    qrExpiresAt: c.qr?.expiresAt ?? null,
    pairingCode: c.pairingCode?.code ?? null,
    pairingCodeExpiresAt: c.pairingCode?.expiresAt ?? null,
  };
}

function parse<T extends { expiresAt: string }>(
  schema: z.ZodType<T>,
  raw: string | null | undefined,
  now: number,
): T | undefined {
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const r = schema.safeParse(json);
  if (!r.success || !(Date.parse(r.data.expiresAt) > now)) return undefined;
  return r.data;
}
