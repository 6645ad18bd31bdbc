import type { Redis } from "ioredis";
import { z } from "zod";

// Commands from the app (or another worker) to whichever worker owns an instance. Pub/sub is
// fire-and-forget: the desired state in Postgres is the truth, and every worker rescans it
// periodically, so a lost message only delays a change by one scan interval.
export const CONTROL_CHANNEL = "gw:control";

const id = z.string().min(1).max(64);
const instanceCommand = <T extends string>(type: T) =>
  z.object({ type: z.literal(type), instanceId: id, locationId: id });

export const controlMessageSchema = z.discriminatedUnion("type", [
  instanceCommand("instance.start"),
  instanceCommand("instance.stop"),
  instanceCommand("instance.restart"),
  instanceCommand("instance.logout"),
  instanceCommand("instance.pairing-code").extend({
    phone: z.string().regex(/^\+?[0-9]{6,15}$/, "phone in international format, digits only"),
  }),
  z.object({ type: z.literal("location.uninstalled"), locationId: id }),
]);

export type ControlMessage = z.infer<typeof controlMessageSchema>;

/** A pairing-code request waits here until the owner's socket is ready to ask for a code. */
export const pairingRequestKey = (instanceId: string) => `gw:pairing:${instanceId}`;

export async function publishControl(redis: Redis, msg: ControlMessage): Promise<void> {
  const m = controlMessageSchema.parse(msg);
  if (m.type === "instance.pairing-code") {
    await redis.set(pairingRequestKey(m.instanceId), m.phone.replace(/^\+/, ""), "PX", 120_000);
  }
  await redis.publish(CONTROL_CHANNEL, JSON.stringify(m));
}

/** Parses a raw pub/sub payload; undefined for anything malformed (never trust the channel). */
export function parseControl(raw: string): ControlMessage | undefined {
  try {
    const r = controlMessageSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
