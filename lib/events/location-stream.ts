import { db } from "../db";
import { env } from "../env";
import type { Caller } from "../http/credentials";
import { streamMayLinkAPhone, streamStillAuthorized } from "../http/stream-auth";
import { eventsChannel } from "../instances/events";
import { linkCodeEvents } from "../instances/link-codes";
import { redis } from "../redis";
import { eventHub, sseResponse } from "./hub";
import { takeStreamSlot } from "./stream-slots";

/** Seconds a client told the location is at its cap waits before it tries again. */
export const STREAM_FULL_RETRY_S = 30;

/**
 * The live events of the caller's location as SSE, or of one of its numbers (`instanceId`, the
 * database id, already checked to be the location's). The channel is the location's own, so
 * nothing of another tenant can appear. The stream takes one of the location's stream slots
 * (lib/events/stream-slots.ts; a 429 when all are held), and its credential is asked again every
 * 30 s and before each QR; revoked or expired ends it. The QR and pairing codes waiting now are
 * sent first, on every (re)connect, to those who may link a phone (admins) only.
 */
export async function openLocationStream(
  req: Request,
  auth: Pick<Caller, "locationId" | "via">,
  instanceId?: string,
): Promise<Response> {
  const max = env().EVENTS_MAX_STREAMS_PER_LOCATION;
  const slot = await takeStreamSlot(redis(), auth.locationId, max);
  if (!slot) {
    return Response.json(
      {
        error: {
          code: "rate_limited",
          message: `this location already has ${max} live event streams open (EVENTS_MAX_STREAMS_PER_LOCATION); close one or retry in ${STREAM_FULL_RETRY_S} s`,
          retryAfterSeconds: STREAM_FULL_RETRY_S,
        },
      },
      { status: 429, headers: { "retry-after": String(STREAM_FULL_RETRY_S) } },
    );
  }
  const mine = instanceId ? `"instanceId":"${instanceId}"` : undefined;
  return sseResponse(
    eventHub(),
    eventsChannel(auth.locationId),
    mine ? (m) => m.includes(mine) : undefined,
    req.signal,
    {
      // a slot that lapsed (the process stalled past its lifetime) ends the stream like a bad credential
      stillValid: async () => (await slot.renew()) && (await streamStillAuthorized(req, auth)),
      mayLinkAPhone: () => streamMayLinkAPhone(req, auth),
      onClose: () => slot.release(),
    },
    async () => (await linkCodeEvents(db(), redis(), auth.locationId, instanceId)).map((e) => JSON.stringify(e)),
  );
}
