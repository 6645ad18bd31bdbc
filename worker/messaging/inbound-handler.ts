import { downloadMediaMessage, type WAMessage } from "@whiskeysockets/baileys";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { saveMedia } from "@/lib/media/media-store";
import { recordInbound } from "@/lib/messages/record-inbound";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { reduceWaMessage } from "./inbound-reducer";

// messages.upsert (type "notify") → stored once → a GHL job. Media is downloaded here, on the
// worker that holds the socket, and kept in Postgres for GHL to fetch under a signed URL.
export type InboundSocket = {
  signalRepository?: { lidMapping?: { getPNForLID(lid: string): Promise<string | null> } };
  updateMediaMessage?: (m: WAMessage) => Promise<WAMessage>;
};

export type InboundDeps = { db: Db; notifyGhl: (j: GhlJob) => Promise<unknown>; log: Logger; maxMediaBytes?: number };

export async function handleUpsert(
  d: InboundDeps,
  ctx: { locationId: string; instanceId: string; groups: boolean; sock: InboundSocket },
  messages: WAMessage[],
) {
  for (const m of messages) {
    try {
      await handleOne(d, ctx, m);
    } catch (err) {
      // one bad message must not drop the rest of the batch
      d.log.warn({ err, instanceId: ctx.instanceId, waMessageId: m.key?.id }, "inbound message not recorded");
    }
  }
}

async function handleOne(d: InboundDeps, ctx: Parameters<typeof handleUpsert>[1], m: WAMessage) {
  const r = reduceWaMessage(m, { groups: ctx.groups });
  if (!r.keep) return;
  let phoneJid: string | null = r.lidOnly ? null : r.value.jid;
  if (r.lidOnly && r.value.lid) {
    phoneJid = (await ctx.sock.signalRepository?.lidMapping?.getPNForLID(r.value.lid).catch(() => null)) ?? null;
  }
  if (r.value.jid.endsWith("@g.us")) phoneJid = null; // groups are relayed by group id, not a phone
  const phone = phoneJid ? phoneJid.split("@")[0].split(":")[0] : r.value.jid.endsWith("@g.us") ? r.value.jid.split("@")[0] : null;

  let media: { mediaId: string; mimetype: string; fileName: string } | null = null;
  if (r.media) {
    const bytes = (await downloadMediaMessage(m, "buffer", {}, {
      logger: d.log as never,
      reuploadRequest: ctx.sock.updateMediaMessage ?? (async (x: WAMessage) => x),
    })) as Buffer;
    if (bytes.length > (d.maxMediaBytes ?? 100 * 1024 * 1024)) throw new Error("media too large");
    const saved = await saveMedia(d.db, ctx.locationId, { bytes, mimetype: r.media.mimetype, fileName: r.media.fileName });
    media = { mediaId: saved.mediaId, mimetype: r.media.mimetype, fileName: r.media.fileName };
  }
  const rec = await recordInbound(d.db, {
    ...r.value,
    jid: phoneJid ?? r.value.jid,
    locationId: ctx.locationId,
    instanceId: ctx.instanceId,
    phone,
    media,
  });
  if (rec.created) await d.notifyGhl({ kind: "inbound", locationId: ctx.locationId, messageId: rec.id });
}
