import { getContentType, normalizeMessageContent, type WAMessage } from "@whiskeysockets/baileys";
import type { InboundWa } from "@/lib/messages/record-inbound";

// Reduces a Baileys message to what GHL needs, or says why it is skipped. Pure: media bytes are
// downloaded by the caller only for messages that are kept.

export type Reduced =
  | {
      keep: true;
      value: Omit<InboundWa, "locationId" | "instanceId" | "media" | "phone" | "group">;
      media: null | { mimetype: string; fileName: string };
      lidOnly: boolean;
      /** a group message (`value.jid` is the group): who in the group wrote it, by phone JID and/or LID */
      group: null | { memberPn: string | null; memberLid: string | null };
    }
  | { keep: false; reason: string };

export function reduceWaMessage(m: WAMessage, opts: { groups: boolean }): Reduced {
  const jid = m.key.remoteJid ?? "";
  if (!jid || jid === "status@broadcast") return { keep: false, reason: "status broadcast" };
  if (jid.endsWith("@newsletter")) return { keep: false, reason: "newsletter" };
  if (jid.endsWith("@broadcast")) return { keep: false, reason: "broadcast list" };
  if (jid.endsWith("@g.us") && !opts.groups) return { keep: false, reason: "group (disabled for this number)" };
  const content = normalizeMessageContent(m.message);
  if (!content) return { keep: false, reason: "no content" };
  const type = getContentType(content);
  if (!type) return { keep: false, reason: "no content" };
  if (type === "protocolMessage" || type === "senderKeyDistributionMessage" || type === "reactionMessage") {
    return { keep: false, reason: type };
  }
  // the other party: a phone JID when WhatsApp gives one, else the LID (its phone resolved later);
  // in a group, the group itself, and the member who wrote from `participant` / `participantAlt`
  const key = m.key as { remoteJidAlt?: string; participant?: string | null; participantAlt?: string | null };
  const isGroup = jid.endsWith("@g.us");
  const alt = key.remoteJidAlt;
  const pnJid = isGroup ? null : jid.endsWith("@s.whatsapp.net") ? jid : alt?.endsWith("@s.whatsapp.net") ? alt : null;
  const lid = isGroup ? null : jid.endsWith("@lid") ? jid : alt?.endsWith("@lid") ? alt : null;
  const group = isGroup ? groupMember(key.participant, key.participantAlt) : null;
  const base = {
    waMessageId: m.key.id ?? "",
    jid: pnJid ?? jid,
    lid,
    pushName: m.pushName ?? null,
    fromMe: !!m.key.fromMe,
    at: new Date(Number(m.messageTimestamp ?? Math.floor(Date.now() / 1000)) * 1000),
  };
  if (!base.waMessageId) return { keep: false, reason: "no id" };
  const lidOnly = !pnJid && !isGroup;
  const c = content as Record<string, Record<string, unknown> | string | undefined>;
  switch (type) {
    case "conversation":
      return {
        keep: true,
        value: { ...base, type: "text", text: String(c.conversation ?? "") },
        media: null,
        lidOnly,
        group,
      };
    case "extendedTextMessage":
      return {
        keep: true,
        value: { ...base, type: "text", text: String((c.extendedTextMessage as { text?: string })?.text ?? "") },
        media: null,
        lidOnly,
        group,
      };
    case "imageMessage":
    case "videoMessage":
    case "audioMessage":
    case "documentMessage":
    case "stickerMessage": {
      const inner = c[type] as { mimetype?: string; caption?: string; fileName?: string; ptt?: boolean };
      const kind = type.replace("Message", "") as "image" | "video" | "audio" | "document" | "sticker";
      const mimetype = (inner?.mimetype ?? "application/octet-stream").split(";")[0];
      const fileName = inner?.fileName ?? `${kind}-${base.waMessageId}.${extension(mimetype)}`;
      return {
        keep: true,
        value: { ...base, type: kind, text: inner?.caption ?? null },
        media: { mimetype, fileName },
        lidOnly,
        group,
      };
    }
    case "locationMessage": {
      const l = c.locationMessage as { degreesLatitude?: number; degreesLongitude?: number; name?: string };
      const text = `📍 ${l?.name ? `${l.name} ` : ""}https://maps.google.com/?q=${l?.degreesLatitude},${l?.degreesLongitude}`;
      return { keep: true, value: { ...base, type: "location", text }, media: null, lidOnly, group };
    }
    case "contactMessage": {
      const v = c.contactMessage as { displayName?: string; vcard?: string };
      return {
        keep: true,
        value: { ...base, type: "contact", text: `👤 ${v?.displayName ?? "Contact"}\n${v?.vcard ?? ""}`.trim() },
        media: null,
        lidOnly,
        group,
      };
    }
    default:
      return {
        keep: true,
        value: { ...base, type: "other", text: `[${type} not supported in GHL]` },
        media: null,
        lidOnly,
        group,
      };
  }
}

function groupMember(participant?: string | null, participantAlt?: string | null) {
  const both = [participant, participantAlt].filter((j): j is string => !!j);
  return {
    memberPn: both.find((j) => j.endsWith("@s.whatsapp.net")) ?? null,
    memberLid: both.find((j) => j.endsWith("@lid")) ?? null,
  };
}

function extension(mimetype: string): string {
  const map: Record<string, string> = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "application/pdf": "pdf",
  };
  return map[mimetype] ?? "bin";
}
