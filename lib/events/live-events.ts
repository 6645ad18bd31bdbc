import { z } from "zod";
import { instanceStatusSchema } from "../enum-schemas";

// The live events of a location's numbers (SSE: /api/events, /api/instances/:id/events), one
// schema for the worker that publishes them, the app that relays them and the panel that parses
// them. Imported by the browser: zod and the enums only, nothing of the server.

/** What the worker publishes on the location's channel (lib/instances/events.ts). */
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
  z.object({
    type: z.literal("instance.pairing-code"),
    instanceId: z.string(),
    code: z.string(),
    expiresAt: z.string().optional(),
  }),
]);
export type InstanceEvent = z.infer<typeof instanceEventSchema>;

/** A QR or pairing code relayed without its value, to a caller who may not link a phone (lib/events/hub.ts). */
export const withheldEventSchema = z.object({
  type: z.enum(["instance.qr", "instance.pairing-code"]),
  instanceId: z.string(),
  expiresAt: z.string().optional(),
  withheld: z.literal("admin_required"),
});
export type WithheldEvent = z.infer<typeof withheldEventSchema>;

/** What an SSE client receives in a `data:` line. */
export const liveEventSchema = z.union([withheldEventSchema, instanceEventSchema]);
export type LiveEvent = z.infer<typeof liveEventSchema>;

/** One `data:` line as an event; anything else (a newer event type, bad JSON) is undefined, to be skipped. */
export function parseLiveEvent(data: string): LiveEvent | undefined {
  try {
    const r = liveEventSchema.safeParse(JSON.parse(data));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
