import type { Redis } from "ioredis";
import { z } from "zod";

// Live events for the panel (SSE) of one location. The worker publishes, the app relays. Only
// the location's own channel carries its instances, so a subscriber cannot see another tenant.
export const eventsChannel = (locationId: string) => `gw:events:${locationId}`;

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
  z.object({ type: z.literal("instance.pairing-code"), instanceId: z.string(), code: z.string(), expiresAt: z.string().optional() }),
]);
export type InstanceEvent = z.infer<typeof instanceEventSchema>;

export async function publishEvent(redis: Redis, locationId: string, ev: InstanceEvent): Promise<void> {
  await redis.publish(eventsChannel(locationId), JSON.stringify(ev));
}
