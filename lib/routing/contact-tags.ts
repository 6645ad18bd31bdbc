import type { Redis } from "ioredis";
import { z } from "zod";

// A GHL contact's tags, read through GHL's contacts API (GET /contacts/{contactId}, docs/ghl.md#contacts)
// and cached per location in Redis for CONTACT_TAGS_TTL_S, so that a burst of messages to one
// contact, or a campaign to many, costs one GHL call per contact and TTL, not one per message.
// A tag changed in GHL is seen after at most the TTL.

export const CONTACT_TAGS_TTL_S = 300;

const contactAnswer = z.object({ contact: z.object({ tags: z.array(z.string()).nullish() }).passthrough() });

/** What calls GHL: the product passes `ghlClient(locationId)`. */
export type GhlGet = (method: "GET", path: string) => Promise<unknown>;

export function contactTagsKey(locationId: string, ghlContactId: string): string {
  return `gw:ghl:tags:${locationId}:${ghlContactId}`;
}

export async function contactTags(
  redis: Redis,
  ghl: GhlGet,
  locationId: string,
  ghlContactId: string,
): Promise<string[]> {
  const key = contactTagsKey(locationId, ghlContactId);
  const cached = await redis.get(key);
  if (cached !== null) {
    const parsed = z.array(z.string()).safeParse(JSON.parse(cached));
    if (parsed.success) return parsed.data;
  }
  const body = contactAnswer.parse(await ghl("GET", `/contacts/${encodeURIComponent(ghlContactId)}`));
  const tags = body.contact.tags ?? [];
  await redis.set(key, JSON.stringify(tags), "EX", CONTACT_TAGS_TTL_S);
  return tags;
}
