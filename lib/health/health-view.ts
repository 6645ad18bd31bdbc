import { z } from "zod";
import type { Db } from "../db";
import { HEALTH_STATES } from "./health-rules";
import { healthOfNumbers } from "./number-health";

// A number's health as the API and the panel show it (GET /api/instances, the numbers panel).
export const healthViewSchema = z.object({
  state: z
    .enum(HEALTH_STATES)
    .describe("healthy, at_risk or restricted (a restricted number starts no new chats until it recovers)"),
  reasons: z.array(z.string()).describe("Why, in words a person reads; empty when healthy"),
  restrictedUntil: z
    .string()
    .nullable()
    .describe("Restricted by error 463: when new chats may start again (24 h without a new refusal)"),
});
export type HealthView = z.infer<typeof healthViewSchema>;

/** The views with each number's health added (one query for all of them). */
export async function withHealth<V extends { id: string }>(
  db: Db,
  locationId: string,
  views: V[],
  now = new Date(),
): Promise<(V & { health: HealthView })[]> {
  const all = views.length
    ? await healthOfNumbers(db, locationId, now, views.length === 1 ? views[0].id : undefined)
    : new Map();
  return views.map((v) => {
    const h = all.get(v.id);
    return {
      ...v,
      health: {
        state: h?.state ?? "healthy",
        reasons: h?.reasons ?? [],
        restrictedUntil: h?.restrictedUntil?.toISOString() ?? null,
      },
    };
  });
}
