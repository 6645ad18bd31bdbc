import type { Redis } from "ioredis";
import { z } from "zod";
import type { Db } from "@/lib/db";
import { badRequest, conflict, notFound } from "@/lib/errors";
import { publishControl } from "./control";
import { leaseKey } from "./lease-key";
import { latestQr } from "./link-codes";

// The instances of one location (a WhatsApp number each). Every function takes locationId and
// puts it in every where: an id from another tenant behaves exactly like an unknown id (404).
// Changes of desired state are written first, then announced on gw:control; the worker's
// periodic scan of desired states catches any announcement that gets lost.

export const instanceNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "1-32 characters: a-z, 0-9, _ and -, starting with a letter or digit");

const publicFields = {
  id: true,
  locationId: true,
  name: true,
  alias: true,
  phone: true,
  waJid: true,
  status: true,
  lastError: true,
  desiredState: true,
  connectedAt: true,
  createdAt: true,
  updatedAt: true,
  settings: true,
} as const;

export type InstanceView = Awaited<ReturnType<typeof get>>;

/**
 * Creates a number, at most `maxPerLocation` per location (MAX_INSTANCES_PER_LOCATION): past it,
 * 409. Counted and inserted under a per-location transaction lock, so concurrent creates cannot
 * overshoot the cap together.
 */
export async function create(
  db: Db,
  redis: Redis,
  locationId: string,
  input: { name: string; alias?: string | null },
  quota: { maxPerLocation: number },
) {
  const name = instanceNameSchema.safeParse(input.name);
  if (!name.success) throw badRequest(`invalid instance name: ${name.error.issues[0]?.message}`);
  let row;
  try {
    row = await db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`gw:instances:${locationId}`}, 0))) l`;
      const existing = await tx.instance.findFirst({ where: { locationId, name: name.data }, select: { id: true } });
      if (existing) throw conflict(`an instance named ${name.data} already exists`);
      const count = await tx.instance.count({ where: { locationId } });
      if (count >= quota.maxPerLocation) {
        throw conflict(
          `this location already has ${count} numbers, the most it may have (${quota.maxPerLocation}); delete one before adding another`,
        );
      }
      return tx.instance.create({
        data: {
          locationId,
          name: name.data,
          alias: input.alias ?? null,
          desiredState: "RUNNING",
          status: "CONNECTING",
        },
        select: publicFields,
      });
    });
  } catch (e) {
    // belt and braces: the unique index decides between two creates of one name
    if ((e as { code?: string }).code === "P2002") throw conflict(`an instance named ${name.data} already exists`);
    throw e;
  }
  await publishControl(redis, { type: "instance.start", instanceId: row.id, locationId });
  return row;
}

export function list(db: Db, locationId: string) {
  return db.instance.findMany({ where: { locationId }, select: publicFields, orderBy: { createdAt: "asc" } });
}

export async function get(db: Db, locationId: string, id: string) {
  const row = await db.instance.findFirst({ where: { id, locationId }, select: publicFields });
  if (!row) throw notFound("instance not found");
  return row;
}

/** RUNNING: a worker opens (or keeps) the socket, showing a QR if unlinked. STOPPED: closed, session kept. */
export async function setDesiredState(
  db: Db,
  redis: Redis,
  locationId: string,
  id: string,
  state: "RUNNING" | "STOPPED",
) {
  // stopping a number no worker holds (e.g. an expired QR): nobody else will write its status
  const unowned = state === "STOPPED" && (await redis.exists(leaseKey(id))) === 0;
  const data =
    state === "RUNNING"
      ? { desiredState: state, lastError: null }
      : unowned
        ? { desiredState: state, status: "OFFLINE" as const }
        : { desiredState: state };
  const r = await db.instance.updateMany({ where: { id, locationId }, data });
  if (r.count === 0) throw notFound("instance not found");
  await publishControl(redis, {
    type: state === "RUNNING" ? "instance.start" : "instance.stop",
    instanceId: id,
    locationId,
  });
  return get(db, locationId, id);
}

/** Closes and reopens the socket (keeps the session): "reconnect" in the panel and the API. */
export async function restart(db: Db, redis: Redis, locationId: string, id: string) {
  const r = await db.instance.updateMany({ where: { id, locationId }, data: { desiredState: "RUNNING" } });
  if (r.count === 0) throw notFound("instance not found");
  await publishControl(redis, { type: "instance.restart", instanceId: id, locationId });
  return get(db, locationId, id);
}

/** Asks for a pairing code instead of a QR; the code arrives as an `instance.pairing-code` event. */
export async function requestPairingCode(db: Db, redis: Redis, locationId: string, id: string, phone: string) {
  const digits = phone.replace(/[^0-9]/g, "");
  if (digits.length < 6 || digits.length > 15)
    throw badRequest("phone must be in international format, e.g. +15551234567");
  const r = await db.instance.updateMany({ where: { id, locationId }, data: { desiredState: "RUNNING" } });
  if (r.count === 0) throw notFound("instance not found");
  await publishControl(redis, { type: "instance.pairing-code", instanceId: id, locationId, phone: digits });
}

/**
 * Unlinks the number. With a live socket the owner worker logs out at WhatsApp (the phone's
 * "linked devices" list loses us) and wipes the session; without one, only our side can be
 * wiped here, and the phone keeps a dead entry until its user removes it.
 */
export async function requestLogout(db: Db, redis: Redis, locationId: string, id: string) {
  await get(db, locationId, id);
  const owned = (await redis.exists(leaseKey(id))) === 1;
  await db.instance.updateMany({ where: { id, locationId }, data: { desiredState: "STOPPED" } });
  if (owned) {
    await publishControl(redis, { type: "instance.logout", instanceId: id, locationId });
    return;
  }
  await db.$transaction([
    db.waKey.deleteMany({ where: { instanceId: id, instance: { locationId } } }),
    db.waCreds.deleteMany({ where: { instanceId: id, instance: { locationId } } }),
    db.instance.updateMany({
      where: { id, locationId },
      data: { status: "LOGGED_OUT", phone: null, waJid: null, lastError: null },
    }),
  ]);
}

/**
 * Logs out, wipes the session and starts again for a new QR (the API's "clear", forceNew). With a
 * live socket its owner logs out asynchronously and ends by marking the number LOGGED_OUT and
 * stopped; asking for RUNNING before that lands would be overwritten and leave it stopped. So this
 * waits for the owner's mark (bounded: a worker that never answers leaves the number stopped,
 * which the QR route then says) before asking for RUNNING.
 */
export async function clearSession(
  db: Db,
  redis: Redis,
  locationId: string,
  id: string,
  o: { waitMs?: number; everyMs?: number } = {},
) {
  const owned = (await redis.exists(leaseKey(id))) === 1;
  await requestLogout(db, redis, locationId, id);
  if (owned) {
    const deadline = Date.now() + (o.waitMs ?? 10_000);
    while (Date.now() < deadline) {
      const row = await db.instance.findFirst({ where: { id, locationId }, select: { status: true } });
      if (!row) throw notFound("instance not found");
      if (row.status === "LOGGED_OUT") break;
      await new Promise((r) => setTimeout(r, o.everyMs ?? 100));
    }
  }
  return setDesiredState(db, redis, locationId, id, "RUNNING");
}

/** Deletes the instance and its session; a live socket is logged out first by its owner. */
export async function remove(db: Db, redis: Redis, locationId: string, id: string) {
  await get(db, locationId, id);
  if ((await redis.exists(leaseKey(id))) === 1) {
    await publishControl(redis, { type: "instance.logout", instanceId: id, locationId });
  }
  await db.instance.deleteMany({ where: { id, locationId } });
}

/** The QR waiting to be scanned (null when none): for a panel that connects after it was published. */
export async function currentQr(db: Db, redis: Redis, locationId: string, id: string) {
  await get(db, locationId, id);
  return latestQr(redis, id);
}
