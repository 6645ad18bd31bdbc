import type { Db, Prisma } from "./db";

// The audit trail: who did what to which tenant, one AuditEvent row per act. Rows are kept after an
// uninstall on purpose (the table has no relation to Location). `who` is the caller as withAuth
// hands it over (its `actor` is `user:<id>` or `api-key:<id>`), or "ghl" / "panel" for acts of
// GHL's webhooks and of the data layer; only its locationId, companyId and actor are stored.

export type AuditAction =
  | "app.installed"
  | "app.uninstalled"
  | "webhook.install"
  | "tokens.invalid_grant"
  | "location.renamed" // GHL's side
  | "api_key.created"
  | "api_key.revoked"
  | "webhook.configured"
  | "settings.updated"
  | "alert.acknowledged"
  | "tag-routes.updated" // a location's configuration
  | "instance.created"
  | "instance.reinitialised"
  | "instance.deleted"
  | `instance.${string}`; // numbers (and their actions)

export type AuditWho = { locationId?: string | null; companyId?: string | null; actor: string };

/** Writes one row per `who` (several: one statement), inside the caller's transaction when given one. */
export async function audit(
  db: Pick<Db, "auditEvent"> | Prisma.TransactionClient,
  who: AuditWho | AuditWho[],
  action: AuditAction,
  detail?: Prisma.InputJsonValue,
): Promise<void> {
  if (Array.isArray(who)) {
    await db.auditEvent.createMany({ data: who.map((w) => ({ ...row(w), action, detail })) });
    return;
  }
  await db.auditEvent.create({ data: { ...row(who), action, detail } });
}

// the caller may pass its whole auth object: store only what the table has
function row(w: AuditWho): AuditWho {
  return {
    ...(w.locationId !== undefined ? { locationId: w.locationId } : {}),
    ...(w.companyId !== undefined ? { companyId: w.companyId } : {}),
    actor: w.actor,
  };
}
