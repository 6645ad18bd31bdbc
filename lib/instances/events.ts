import type { Redis } from "ioredis";
import type { InstanceEvent } from "../events/live-events";

// Live events for the panel (SSE) of one location (their schema: lib/events/live-events.ts). The
// worker publishes, the app relays. Only the location's own channel carries its instances, so a
// subscriber cannot see another tenant.
export const eventsChannel = (locationId: string) => `gw:events:${locationId}`;

export async function publishEvent(redis: Redis, locationId: string, ev: InstanceEvent): Promise<void> {
  await redis.publish(eventsChannel(locationId), JSON.stringify(ev));
}
