import type { Db } from "../db";
import { type Governed, governOutbound } from "../governor/governor";
import { healthOfNumber } from "../health/number-health";

// Routing around trouble (docs/architecture.md#routing, ADR 018): when the number a message was
// given is offline, restricted or out of today's allowance, and its location allows it
// (`routeAroundTrouble`), the message goes from another ONLINE number of the same location that
// can send it now — its allowance not used up for this message (a reply to a contact who wrote to
// that number passes the new-chat allowance there too) and, for a new chat, not restricted.
// Otherwise it waits on its number, as without the setting.

/**
 * Whether this message may be moved at all: the sender did not name its number, and it is not for
 * a WhatsApp group (only the number that is a member can write to it).
 */
export function mayRoute(m: {
  routedBy: string | null;
  location: { settings: { routeAroundTrouble: boolean } };
  contact?: { waJid: string | null } | null;
}): boolean {
  return m.location.settings.routeAroundTrouble && m.routedBy !== "named" && !isGroup(m.contact);
}

/** A group's conversation stays on its number, whatever the routing settings. */
export function isGroup(contact: { waJid: string | null } | null | undefined): boolean {
  return !!contact?.waJid?.endsWith("@g.us");
}

/**
 * Another ONLINE number of the location that would send `m` now, by name; undefined when none.
 * Judges each candidate as its own send loop would (lib/governor/, lib/health/).
 */
export async function numberToRouteTo(
  db: Db,
  from: string,
  m: Governed,
  now: Date,
): Promise<{ instanceId: string; name: string } | undefined> {
  const candidates = await db.$queryRaw<{ id: string; name: string }[]>`
    SELECT id, name FROM "Instance"
    WHERE "locationId" = ${m.locationId} AND id <> ${from} AND status = 'ONLINE' AND "desiredState" = 'RUNNING'
    ORDER BY name`;
  for (const c of candidates) {
    const verdict = await governOutbound(db, c.id, m, now);
    if (!verdict.send) continue;
    if (verdict.newChat && (await healthOfNumber(db, m.locationId, c.id, now)).state === "restricted") continue;
    return { instanceId: c.id, name: c.name };
  }
  return undefined;
}
