import type { z } from "zod";
import type { Db } from "./db";

// The one way a JSON settings column is written (docs/decisions/017-json-settings-one-owner.md):
// the patch is merged into the stored object inside Postgres, in one statement, so two writers
// changing different keys at the same moment both keep their change (a read in the app, a merge
// and a write back loses one of them). Every write is scoped by the row's id and its tenant.

export type SettingsOwner = "location" | "instance";

/** What may run the statement: the client or an interactive transaction. */
export type SqlRunner = Pick<Db, "$queryRaw">;

/**
 * Merges `patch` (top-level keys, checked by `checkedPatch`; a `null` value stores null, which
 * the schemas read as unset) into the row's settings; a stored value that is not an object is
 * replaced. Returns the stored settings after the merge, or undefined when no row has this id in
 * this location.
 */
export async function patchJsonSettings(
  db: SqlRunner,
  owner: SettingsOwner,
  where: { id: string; locationId: string },
  patch: Record<string, unknown>,
): Promise<unknown | undefined> {
  const json = JSON.stringify(patch);
  // one literal statement per table (no table name spliced into SQL); a Location is its own tenant
  const rows =
    owner === "location"
      ? await db.$queryRaw<{ settings: unknown }[]>`
          UPDATE "Location" SET settings = COALESCE(CASE WHEN jsonb_typeof(settings) = 'object' THEN settings END, '{}'::jsonb) || ${json}::jsonb, "updatedAt" = now()
          WHERE id = ${where.id} AND id = ${where.locationId} RETURNING settings`
      : await db.$queryRaw<{ settings: unknown }[]>`
          UPDATE "Instance" SET settings = COALESCE(CASE WHEN jsonb_typeof(settings) = 'object' THEN settings END, '{}'::jsonb) || ${json}::jsonb, "updatedAt" = now()
          WHERE id = ${where.id} AND "locationId" = ${where.locationId} RETURNING settings`;
  return rows[0]?.settings;
}

/** Stored JSON as an object to parse: anything else (null, an array, a string) reads as empty. */
export function asSettingsObject(raw: unknown): Record<string, unknown> {
  return raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}

/** A settings schema: every field has its default, so a missing or unreadable key still reads. */
export type SettingsSchema = z.ZodObject<Record<string, z.ZodDefault<z.ZodType>>>;

/**
 * Reads stored settings through their schema, key by key: a key missing, of an old shape or
 * unreadable falls back to its default instead of breaking the tenant; unknown keys are dropped.
 */
export function parseSettings<S extends SettingsSchema>(schema: S, raw: unknown): z.output<S> {
  const stored = asSettingsObject(raw);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const r = field.safeParse(stored[key]);
    out[key] = r.success ? r.data : field.parse(undefined);
  }
  return out as z.output<S>;
}

/**
 * What a writer may store: only the schema's keys, each valid as it is (no default filled in, no
 * lenient fallback: a bad value from code is a bug, thrown here rather than stored).
 */
export function checkedPatch<S extends SettingsSchema>(
  schema: S,
  patch: Partial<z.output<S>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const field = schema.shape[key];
    if (!field) throw new Error(`unknown setting ${key}`);
    out[key] = field.unwrap().parse(value);
  }
  return out;
}
