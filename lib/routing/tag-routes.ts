import { z } from "zod";

// Routing by GHL contact tag (docs/architecture.md#routing): a location's table of tag → number,
// kept in Location.settings (`tagRoutes`, lib/tenants/settings.ts is its one writer). A contact
// whose GHL tags include a table's tag is written to from that tag's number; the first row of the
// table that matches wins. GHL compares tags without regard to case, and so does this.

export const TAG_ROUTES_MAX = 50;

export const tagRouteSchema = z.object({
  tag: z.string().trim().min(1).max(100),
  /** the Instance's id (not its name: a renamed number keeps its routes) */
  instanceId: z.string().min(1).max(64),
});
export const tagRoutesSchema = z.array(tagRouteSchema).max(TAG_ROUTES_MAX);
export type TagRoute = z.infer<typeof tagRouteSchema>;
/** The body of PUT /api/panel/tag-routes: the whole table, replacing the stored one. */
export const tagRoutesBodySchema = z
  .object({ routes: tagRoutesSchema.describe("First match wins; tags compared without regard to case") })
  .strict();

/** The number the table sends a contact with these tags to, if any. */
export function numberForTags(routes: readonly TagRoute[], tags: readonly string[]): string | undefined {
  if (!routes.length || !tags.length) return undefined;
  const have = new Set(tags.map(norm));
  return routes.find((r) => have.has(norm(r.tag)))?.instanceId;
}

function norm(tag: string): string {
  return tag.trim().toLowerCase();
}
