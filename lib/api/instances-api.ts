import type { Redis } from "ioredis";
import QRCode from "qrcode";
import { z } from "zod";
import type { Db } from "../db";
import { desiredStateSchema, instanceStatusSchema } from "../enum-schemas";
import { AppError, conflict, notFound } from "../errors";
import { healthViewSchema } from "../health/health-view";
import { historyProgressSchema } from "../history/history-import";
import { parseInstanceSettings } from "../instances/instance-settings";
import * as instances from "../instances/instances";
import { linkCodesOf, linkingView, linkingViewSchema } from "../instances/link-codes";
import { numberStatsSchema } from "../instances/number-stats";
import { ttlMemo } from "../ttl-memo";
import { instanceIdSchema } from "./schemas";

// The seed gateway's instance endpoints, on top of lib/instances: numbers are addressed by their
// name (`wa-01`) within the caller's location, answers keep the seed's field names.

export const createInstanceSchema = z.object({
  instanceId: instanceIdSchema,
  phoneAlias: z.string().max(64).optional().describe("A label shown in the panel"),
  forceNew: z.boolean().optional().describe("Discard the stored session and link again by QR (needs confirm)"),
  confirm: z.string().optional().describe("With forceNew: the instanceId again, to confirm discarding the session"),
});

export const instanceViewSchema = z.object({
  instanceId: z.string(),
  id: z.string(),
  status: instanceStatusSchema,
  phone: z.string().nullable(),
  phoneAlias: z.string().nullable(),
  lastError: z.string().nullable(),
  desiredState: desiredStateSchema,
  connectedAt: z.string().nullable(),
  groups: z.boolean().describe("Its WhatsApp groups are relayed to GHL (PATCH /api/instances/{id}/settings)"),
  linking: linkingViewSchema
    .nullable()
    .optional()
    .describe("The QR or pairing code waiting for a scan, if any (null when none)"),
  stats: numberStatsSchema
    .optional()
    .describe("Today (UTC): sent, received, failed, the warm-up allowance used, and the last activity (the list only)"),
  health: healthViewSchema.optional().describe("The number's health (lib/health/): in the list and the detail"),
  historyImport: historyProgressSchema
    .nullable()
    .optional()
    .describe("In the list: the number's import of past conversations (null: none yet)"),
});

export type InstanceView = z.infer<typeof instanceViewSchema>;

type Row = Awaited<ReturnType<typeof instances.get>>;
export function view(i: Row): InstanceView {
  return {
    instanceId: i.name,
    id: i.id,
    status: i.status,
    phone: i.phone,
    phoneAlias: i.alias,
    lastError: i.lastError,
    desiredState: i.desiredState,
    connectedAt: i.connectedAt ? i.connectedAt.toISOString() : null,
    groups: parseInstanceSettings(i.settings).groups,
  };
}

/**
 * Views with what each number shows for linking now, from the one reader of QR and pairing codes
 * (lib/instances/link-codes.ts). Whether the caller may see them is asked only when one waits.
 */
export async function viewsWithLinking(
  redis: Redis,
  rows: Row[],
  mayLinkAPhone: () => Promise<boolean>,
): Promise<z.infer<typeof instanceViewSchema>[]> {
  const codes = await linkCodesOf(
    redis,
    rows.map((r) => r.id),
  );
  const may = codes.size > 0 && (await mayLinkAPhone().catch(() => false));
  return rows.map((r) => ({ ...view(r), linking: linkingView(codes.get(r.id), may) }));
}

export async function byName(db: Db, locationId: string, name: string) {
  const n = instanceIdSchema.safeParse(name);
  if (!n.success) throw notFound("no number with that instanceId in this location");
  const row = await db.instance.findFirst({ where: { locationId, name: n.data }, select: { id: true } });
  if (!row) throw notFound(`no number named ${n.data} in this location`);
  return instances.get(db, locationId, row.id);
}

/** Create, or reinitialise an existing number (start it); forceNew discards its session. */
export async function createOrInit(
  db: Db,
  redis: Redis,
  locationId: string,
  b: z.infer<typeof createInstanceSchema>,
  quota: { maxPerLocation: number },
) {
  const existing = await db.instance.findFirst({ where: { locationId, name: b.instanceId }, select: { id: true } });
  if (!existing)
    return {
      created: true,
      instance: view(
        await instances.create(db, redis, locationId, { name: b.instanceId, alias: b.phoneAlias ?? null }, quota),
      ),
    };
  if (b.phoneAlias !== undefined)
    await db.instance.updateMany({ where: { id: existing.id, locationId }, data: { alias: b.phoneAlias } });
  if (b.forceNew) {
    if (b.confirm !== b.instanceId)
      throw conflict(
        `forceNew discards the linked session of ${b.instanceId}; send "confirm": "${b.instanceId}" to proceed`,
      );
    return { created: false, instance: view(await instances.clearSession(db, redis, locationId, existing.id)) };
  }
  return {
    created: false,
    instance: view(await instances.setDesiredState(db, redis, locationId, existing.id, "RUNNING")),
  };
}

/**
 * The QR to scan, read only: it never starts a number (a stopped one is a 409 naming the route that
 * starts it), and the PNG is rendered once per QR value (qrPng), however often it is asked for.
 */
export async function qrOf(db: Db, redis: Redis, locationId: string, name: string) {
  const i = await byName(db, locationId, name);
  if (i.desiredState === "STOPPED") {
    throw new AppError(
      "conflict",
      `number ${i.name} is stopped; start it first with POST /api/instances/${i.id}/start, then ask for its QR again`,
      {
        start: `/api/instances/${i.id}/start`,
      },
    );
  }
  if (i.status === "ONLINE")
    return { instanceId: i.name, status: i.status, connected: true, phone: i.phone, qr: null, qrDataUrl: null };
  const q = await instances.currentQr(db, redis, locationId, i.id);
  return {
    instanceId: i.name,
    status: i.status,
    connected: false,
    phone: null,
    qr: q?.qr ?? null,
    expiresAt: q?.expiresAt ?? null,
    qrDataUrl: q ? await qrPng(q.qr) : null,
    ...(q ? {} : { hint: "No QR yet: the number is starting; ask again in a second (or watch the panel)" }),
  };
}

// WhatsApp rotates a number's QR every 20-60 s and only the worker writes them, so the values are
// few; each is rendered once per process while it can still be scanned. Bounded in entries.
const QR_PNG_TTL_MS = 90_000;
export const qrPng = ttlMemo(QR_PNG_TTL_MS, (qr: string) => QRCode.toDataURL(qr, { margin: 1, width: 320 }), 512);
