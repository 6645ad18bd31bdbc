import { z } from "zod";
import type { Db } from "../db";
import { messageStatusSchema } from "../enum-schemas";

// The panel's message log: one location's messages, newest first, filterable by number and status.
export const messageLogQuery = z.object({
  instanceId: z.string().max(64).optional(),
  status: messageStatusSchema.optional(),
  before: z.coerce.date().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export async function messageLog(db: Db, locationId: string, q: z.infer<typeof messageLogQuery>) {
  const rows = await db.message.findMany({
    where: {
      locationId,
      ...(q.instanceId ? { instanceId: q.instanceId } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.before ? { createdAt: { lt: q.before } } : {}),
    },
    orderBy: { createdAt: "desc" },
    take: q.limit,
    select: {
      id: true,
      direction: true,
      source: true,
      type: true,
      status: true,
      error: true,
      createdAt: true,
      text: true,
      notBefore: true,
      instance: { select: { id: true, name: true } },
      contact: { select: { phone: true, name: true } },
    },
  });
  return rows.map((r) => ({
    id: r.id,
    direction: r.direction,
    source: r.source,
    type: r.type,
    status: r.status,
    error: r.error,
    at: r.createdAt.toISOString(),
    // held by the warm-up governor: not sent before then (`error` says why)
    sendsAt: r.status === "WAITING" && r.notBefore ? r.notBefore.toISOString() : null,
    number: r.instance?.name ?? null,
    instanceId: r.instance?.id ?? null,
    contact: r.contact?.phone ?? null,
    contactName: r.contact?.name ?? null,
    preview: r.text ? (r.text.length > 80 ? `${r.text.slice(0, 80)}…` : r.text) : null,
  }));
}
