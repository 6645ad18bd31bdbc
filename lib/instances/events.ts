import type { Redis } from "ioredis";
import { z } from "zod";

// Live events for the panel (SSE) of one location. The worker publishes, the app relays. Only
// the location's own channel carries its instances, so a subscriber cannot see another tenant.
export const eventsChannel = (locationId: string) => `gw:events:${locationId}`;
/** The latest QR of an instance, so a panel that connects after it was published can show it. */
export const qrKey = (instanceId: string) => `gw:qr:${instanceId}`;

export const instanceStatusSchema = z.enum(["QR", "CONNECTING", "ONLINE", "RECONNECTING", "OFFLINE", "LOGGED_OUT", "FAILED", "BANNED"]);
export type InstanceStatusValue = z.infer<typeof instanceStatusSchema>;

export const instanceEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("instance.status"),
    instanceId: z.string(),
    status: instanceStatusSchema,
    phone: z.string().optional(),
    lastError: z.string().optional(),
    at: z.string(),
  }),
  z.object({ type: z.literal("instance.qr"), instanceId: z.string(), qr: z.string(), expiresAt: z.string() }),
  z.object({ type: z.literal("instance.pairing-code"), instanceId: z.string(), code: z.string() }),
]);
export type InstanceEvent = z.infer<typeof instanceEventSchema>;

export async function publishEvent(redis: Redis, locationId: string, ev: InstanceEvent): Promise<void> {
  await redis.publish(eventsChannel(locationId), JSON.stringify(ev));
}

/** The QR still waiting to be scanned, if any (stored by the worker with its expiry). */
export async function latestQr(redis: Redis, instanceId: string): Promise<{ qr: string; expiresAt: string } | null> {
  const raw = await redis.get(qrKey(instanceId));
  if (!raw) return null;
  const r = z.object({ qr: z.string(), expiresAt: z.string() }).safeParse(JSON.parse(raw));
  return r.success ? r.data : null;
}
