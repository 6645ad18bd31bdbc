import {
  DEF_MEDIA_HOST,
  DEFAULT_ORIGIN,
  getMediaKeys,
  getUrlFromDirectPath,
  normalizeMessageContent,
  type WAMessage,
} from "@whiskeysockets/baileys";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { downloadEncrypted } from "@/lib/media/encrypted-download";
import {
  announcedBytes,
  announcedTooLarge,
  DEFAULT_MAX_INBOUND_MEDIA_BYTES,
  refusedMediaNotice,
  tooLargeNotice,
} from "@/lib/media/inbound-media-size";
import { saveMedia } from "@/lib/media/media-store";
import { applyReceipts, type Receipt } from "@/lib/messages/receipts";
import { recordInbound } from "@/lib/messages/record-inbound";
import { BlockedAddressError } from "@/lib/net/guarded-request";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { type GroupSocket, groupName, memberLine } from "./group-inbound";
import { reduceWaMessage } from "./inbound-reducer";
import { backoffMs, entryId, type InboundSpool, type SpoolEntry } from "./inbound-spool";

// messages.upsert (any type: "notify" live, "append" for WhatsApp's offline replay and for what
// the owner typed on the phone) → stored once → a GHL job. Media is downloaded here, on the
// worker that holds the socket, and kept in Postgres for GHL to fetch under a signed URL.
// Live 1:1 messages are made durable before Baileys acknowledges them (`makeDurable`, called
// from worker/whatsapp/store-before-ack.ts); the upsert then finds them stored.
export type InboundSocket = GroupSocket & {
  signalRepository?: { lidMapping?: { getPNForLID(lid: string): Promise<string | null> } };
  updateMediaMessage?: (m: WAMessage) => Promise<WAMessage>;
  user?: { id?: string } | null;
};

export type InboundDeps = {
  db: Db;
  notifyGhl: (j: GhlJob) => Promise<unknown>;
  log: Logger;
  /**
   * Largest attachment imported (default 100 MB). A larger one, announced or found while
   * downloading, reaches GHL as a line saying so instead of the file.
   */
  maxMediaBytes?: number;
  /**
   * Origins media may be downloaded from although they are on private addresses
   * (MEDIA_URL_ALLOWED_ORIGINS: the sandbox's simulators). A media URL is the sender's word.
   */
  mediaAllowedOrigins?: readonly string[];
  /** tries after a failed one (Postgres or the media host away for a moment), default 12 */
  retries?: number;
  /** first retry delay, doubled each time up to a minute (default 1 s: 12 tries span ~7 minutes) */
  retryBaseMs?: number;
  /**
   * Where failed messages wait for their next try (Redis: they outlive this process). Without one,
   * or when Redis refuses the write too, they are retried from memory (`retries`, `retryBaseMs`).
   */
  spool?: InboundSpool;
  /** our own sends come back as fromMe upserts: known ids are skipped without a query */
  isOwnSend?: (waMessageId: string) => boolean;
};

type Ctx = { locationId: string; instanceId: string; groups: boolean; sock: InboundSocket };

/**
 * Not worth another try (the same bytes will fail the same way). Oversized media no longer
 * throws it: such a message is recorded with a line in place of the file (fetchMedia).
 */
class PermanentInboundError extends Error {}

export async function handleUpsert(d: InboundDeps, ctx: Ctx, messages: WAMessage[]) {
  for (const m of messages) {
    try {
      await handleOne(d, ctx, m);
    } catch (err) {
      // one bad message must not drop the rest of the batch
      await spoolOrRetry(d, ctx, m, err);
    }
  }
}

/** Puts a message whose first store failed into the spool, to be tried again (throws if it cannot). */
async function spoolFirstFailure(
  spool: InboundSpool,
  ctx: { instanceId: string; locationId: string },
  m: WAMessage,
  err: unknown,
) {
  const now = Date.now();
  await spool.put({
    instanceId: ctx.instanceId,
    locationId: ctx.locationId,
    message: m,
    tries: 1,
    firstAt: now,
    nextAt: now + spool.delayAfter(1),
    lastError: String((err as Error)?.message ?? err),
  });
}

/** A message that could not be stored: into the spool (durable), else retried from memory. */
export async function spoolOrRetry(
  d: InboundDeps,
  ctx: Omit<Ctx, "groups" | "sock"> & Partial<Ctx>,
  m: WAMessage,
  err: unknown,
) {
  const where = { instanceId: ctx.instanceId, locationId: ctx.locationId, waMessageId: m.key?.id };
  if (err instanceof PermanentInboundError)
    return void d.log.error({ err, ...where }, "inbound WhatsApp message NOT recorded (given up)");
  if (d.spool) {
    try {
      await spoolFirstFailure(d.spool, ctx, m, err);
      d.log.warn({ err, ...where }, "inbound message not recorded; spooled for another try");
      return;
    } catch (spoolErr) {
      d.log.warn({ err: spoolErr, ...where }, "inbound spool unavailable; retrying from memory");
    }
  }
  if (ctx.sock && ctx.groups !== undefined) failed(d, ctx as Ctx, m, err, 1);
  else d.log.error({ err, ...where }, "inbound WhatsApp message NOT recorded (no spool, no socket)");
}

/**
 * One more try of a spooled message, by the worker holding its number's socket: stored → out of
 * the spool; failed → back in with a later `nextAt`; permanent or older than the spool's limit →
 * out, loudly.
 */
export async function retrySpooled(
  d: InboundDeps & { spool: InboundSpool },
  ctx: Ctx,
  e: SpoolEntry,
): Promise<"stored" | "again" | "given-up"> {
  const waMessageId = entryId(e);
  const where = { instanceId: e.instanceId, locationId: e.locationId, waMessageId, tries: e.tries + 1 };
  try {
    if (e.receipts?.length) await applyReceipts(d.db, e.instanceId, e.receipts, d.notifyGhl);
    else await handleOne(d, ctx, e.message);
    await d.spool.remove(e.instanceId, waMessageId);
    d.log.info({ ...where, waitedMs: Date.now() - e.firstAt }, "spooled inbound message recorded");
    return "stored";
  } catch (err) {
    if (err instanceof PermanentInboundError || Date.now() - e.firstAt > d.spool.maxAgeMs) {
      await d.spool.remove(e.instanceId, waMessageId);
      d.log.error({ err, ...where }, "inbound WhatsApp message NOT recorded (given up)");
      return "given-up";
    }
    const tries = e.tries + 1;
    await d.spool.put({
      ...e,
      tries,
      nextAt: Date.now() + d.spool.delayAfter(tries),
      lastError: String((err as Error)?.message ?? err),
    });
    d.log.warn({ err, ...where }, "spooled inbound message still not recorded; will try again");
    return "again";
  }
}

/**
 * WhatsApp has already been told this device received the message, so it will not send it
 * again: a failed store is tried again in the background (storing is idempotent by WhatsApp id,
 * and a message stored but not queued is queued by the GHL queue's sweep), and only after every
 * try is it given up, loudly.
 */
function failed(d: InboundDeps, ctx: Ctx, m: WAMessage, err: unknown, attempt: number) {
  const where = { instanceId: ctx.instanceId, locationId: ctx.locationId, waMessageId: m.key?.id, attempt };
  if (err instanceof PermanentInboundError || attempt > (d.retries ?? 12)) {
    d.log.error({ err, ...where }, "inbound WhatsApp message NOT recorded (given up)");
    return;
  }
  d.log.warn({ err, ...where }, "inbound message not recorded; will try again");
  const t = setTimeout(
    () => {
      handleOne(d, ctx, m).catch((e) => failed(d, ctx, m, e, attempt + 1));
    },
    backoffMs(attempt, d.retryBaseMs),
  );
  t.unref?.();
}

/**
 * A message from WhatsApp's history sync: reduced, its media fetched and stored like a live one,
 * recorded once by WhatsApp id as a history row, which the history import posts to GHL (no GHL
 * job). True when it was new.
 */
export async function storeHistoryMessage(d: InboundDeps, ctx: Ctx, m: WAMessage): Promise<boolean> {
  return (await handleOne(d, ctx, m, true)) === true;
}

async function handleOne(d: InboundDeps, ctx: Ctx, m: WAMessage, history = false): Promise<boolean | undefined> {
  // the echo of our own send: its row exists already (the id is fixed before sending)
  if (m.key?.fromMe && m.key.id && d.isOwnSend?.(m.key.id)) return;
  const r = reduceWaMessage(m, { groups: ctx.groups });
  if (!r.keep) return;
  let phoneJid: string | null = r.lidOnly || r.group ? null : r.value.jid;
  if (r.lidOnly && r.value.lid) {
    phoneJid = (await ctx.sock.signalRepository?.lidMapping?.getPNForLID(r.value.lid).catch(() => null)) ?? null;
  }
  // a group is relayed as one contact kept by its jid, never with a "phone" made of the group id
  const phone = phoneJid ? phoneJid.split("@")[0].split(":")[0] : null;
  // what the owner writes to their own number ("message yourself") is no conversation with a contact
  const own = ctx.sock.user?.id?.split("@")[0].split(":")[0];
  if (r.value.fromMe && own && phone === own) return;

  let media: { mediaId: string; mimetype: string; fileName: string } | null = null;
  let text = r.value.text;
  if (r.media) {
    const kind = r.value.type as "image" | "video" | "audio" | "document" | "sticker";
    const got = await fetchMedia(d, m, kind);
    if (got.ok) {
      const saved = await saveMedia(d.db, ctx.locationId, {
        bytes: got.bytes,
        mimetype: r.media.mimetype,
        fileName: r.media.fileName,
      });
      media = { mediaId: saved.mediaId, mimetype: r.media.mimetype, fileName: r.media.fileName };
    } else if ("refused" in got) {
      // a URL into our own network is never fetched, nor tried again: a line says what was sent
      text = refusedMediaNotice({
        kind,
        ptt: got.node?.ptt === true,
        fileName: kind === "document" ? got.node?.fileName : null,
        caption: r.value.text,
      });
      d.log.warn(
        { instanceId: ctx.instanceId, locationId: ctx.locationId, waMessageId: m.key?.id, kind, why: got.refused },
        "inbound media URL on a private or reserved address: not fetched",
      );
    } else {
      // recorded like any message (once, by WhatsApp id), with the file replaced by a line saying why
      text = tooLargeNotice({
        kind,
        ptt: got.node?.ptt === true,
        fileName: kind === "document" ? got.node?.fileName : null,
        caption: r.value.text,
        bytes: got.bytes,
        limit: got.limit,
      });
      d.log.warn(
        {
          instanceId: ctx.instanceId,
          locationId: ctx.locationId,
          waMessageId: m.key?.id,
          kind,
          announcedBytes: got.announced,
          readBytes: got.readBytes,
          limit: got.limit,
        },
        "inbound media over the size limit: not imported",
      );
    }
  }
  // a member's message is prefixed with who wrote it (what the number itself wrote is not)
  if (r.group && !r.value.fromMe)
    text = await memberLine(ctx.sock, r.group, r.value.pushName ?? null, text, r.value.type);
  const group = r.group ? { name: await groupName(ctx.sock, ctx.instanceId, r.value.jid) } : null;
  const rec = await recordInbound(d.db, {
    ...r.value,
    text,
    group,
    jid: phoneJid ?? r.value.jid,
    locationId: ctx.locationId,
    instanceId: ctx.instanceId,
    phone,
    media,
    history,
  });
  if (rec.created && !history) await d.notifyGhl({ kind: "inbound", locationId: ctx.locationId, messageId: rec.id });
  // the phone of a contact GHL has without one is known now; a new message's post gives it too,
  // this covers a redelivered one (and the job id makes the two one job at most per phone)
  if (rec.linked && rec.linked.kind !== "none" && rec.linked.ghlContactId && !rec.created && phone) {
    await d.notifyGhl({
      kind: "contact",
      locationId: ctx.locationId,
      contactId: rec.linked.contactId,
      phone: `+${phone}`,
    });
  }
  return rec.created;
}

/**
 * One try at making a message durable before WhatsApp is told we have it: stored (or nothing to
 * keep, or given up for good) → true; failed with Postgres up → spooled in Redis → true; Postgres
 * away, or the spool refusing → false (try again later; WhatsApp is not told meanwhile).
 */
export async function makeDurable(d: InboundDeps, ctx: Ctx, m: WAMessage): Promise<boolean> {
  try {
    await handleOne(d, ctx, m);
    return true;
  } catch (err) {
    const where = { instanceId: ctx.instanceId, locationId: ctx.locationId, waMessageId: m.key?.id };
    if (err instanceof PermanentInboundError) {
      d.log.error({ err, ...where }, "inbound WhatsApp message NOT recorded (given up)");
      return true;
    }
    if (!d.spool) return false;
    // Postgres away: keep it unacknowledged (WhatsApp holds it, and a Redis emptied meanwhile
    // cannot lose it); the spool is for what fails with Postgres up (a media host, a bad row)
    if (!(await databaseAnswers(d.db))) {
      d.log.warn({ err, ...where }, "Postgres unreachable; holding the message unacknowledged until it is back");
      return false;
    }
    try {
      await spoolFirstFailure(d.spool, ctx, m, err);
      d.log.warn({ err, ...where }, "inbound message not recorded; spooled for another try");
      return true;
    } catch (spoolErr) {
      d.log.warn(
        { err: spoolErr, ...where },
        "inbound message neither recorded nor spooled; holding its acknowledgement",
      );
      return false;
    }
  }
}

/**
 * Receipts for our own messages → statuses (and GHL jobs); when that fails with Postgres up, into
 * the spool; with Postgres away, not at all (they stay unacknowledged at WhatsApp).
 * Resolves true once they are durable one way or the other (then the ack may go), false when
 * neither store took them (then they must not be acknowledged: WhatsApp replays them at the next login).
 */
export async function applyOrSpoolReceipts(
  d: InboundDeps,
  ctx: { instanceId: string; locationId: string },
  receipts: Receipt[],
): Promise<boolean> {
  try {
    await applyReceipts(d.db, ctx.instanceId, receipts, d.notifyGhl);
    return true;
  } catch (err) {
    if (!d.spool || !(await databaseAnswers(d.db))) {
      d.log.warn({ err, ...ctx }, "receipts not applied; left unacknowledged until Postgres answers");
      return false;
    }
    const now = Date.now();
    const key = { id: receipts[0]?.waMessageId, fromMe: true };
    try {
      await d.spool.put({
        ...ctx,
        message: { key } as WAMessage,
        receipts,
        tries: 1,
        firstAt: now,
        nextAt: now + d.spool.delayAfter(1),
        lastError: String((err as Error)?.message ?? err),
      });
      d.log.warn({ err, ...ctx, count: receipts.length }, "receipts not applied; spooled for another try");
      return true;
    } catch (spoolErr) {
      d.log.warn({ err: spoolErr, ...ctx }, "receipts neither applied nor spooled; left unacknowledged");
      return false;
    }
  }
}

async function databaseAnswers(db: Db): Promise<boolean> {
  return db.$queryRaw`SELECT 1`.then(
    () => true,
    () => false,
  );
}

type MediaNode = {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | string | null;
  fileLength?: unknown;
  fileName?: string | null;
  ptt?: boolean | null;
};
type Fetched =
  | { ok: true; bytes: Buffer }
  | {
      ok: false;
      node: MediaNode | undefined;
      limit: number;
      announced: number | null;
      readBytes: number;
      bytes: number | null;
    }
  | { ok: false; node: MediaNode | undefined; refused: string };

/**
 * The attachment's bytes, or why not: announced over the limit → nothing fetched; otherwise
 * downloaded with the limit as a hard cap (the announced size is the sender's word only).
 * A host failure throws (the message is tried again, as any failed store).
 */
async function fetchMedia(d: InboundDeps, m: WAMessage, kind: string): Promise<Fetched> {
  const limit = d.maxMediaBytes ?? DEFAULT_MAX_INBOUND_MEDIA_BYTES;
  const node = (normalizeMessageContent(m.message) as Record<string, MediaNode | undefined> | undefined)?.[
    `${kind}Message`
  ];
  const announced = announcedBytes(node?.fileLength);
  if (announcedTooLarge(node?.fileLength, limit))
    return { ok: false, node, limit, announced, readBytes: 0, bytes: announced };
  if (!node?.mediaKey) throw new Error(`${kind} message without a media key`);
  // Baileys' rules: the directPath on the host the url names (else WhatsApp's), else the url.
  // No re-upload request on 404/410: rc14's downloadMediaMessage looks for `error.status`, which
  // its Boom errors never have, so it never asked either; a failed download is tried again.
  const host = node.url ? safeHost(node.url) : undefined;
  const url = node.directPath ? getUrlFromDirectPath(node.directPath, host ?? DEF_MEDIA_HOST) : node.url;
  if (!url) throw new Error(`${kind} message without a download URL`);
  const { cipherKey, iv } = await getMediaKeys(node.mediaKey, kind as never);
  let got: Awaited<ReturnType<typeof downloadEncrypted>>;
  try {
    got = await downloadEncrypted({
      url,
      cipherKey,
      iv,
      limit,
      headers: { Origin: DEFAULT_ORIGIN },
      guard: { allowedOrigins: d.mediaAllowedOrigins },
    });
  } catch (err) {
    if (err instanceof BlockedAddressError) return { ok: false, node, refused: err.message };
    throw err;
  }
  if (got.ok) return { ok: true, bytes: got.bytes };
  // a Content-Length over the limit is a size known to be true; otherwise only "more than the limit"
  const known = got.declaredBytes !== null && got.declaredBytes > limit ? got.declaredBytes : null;
  return { ok: false, node, limit, announced, readBytes: got.fetchedBytes, bytes: known };
}

function safeHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
