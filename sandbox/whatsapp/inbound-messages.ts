// What a simulated contact sends to a linked number: one Signal-encrypted copy per linked device
// (pkmsg until that device has answered, then msg), plus receipts for what the device sent.

import { randomBytes } from "node:crypto";
import { type BinaryNode, isJidGroup, type MediaType, proto, writeRandomPadMax16 } from "@whiskeysockets/baileys";
import { deliverOrQueue } from "./delivery";
import { findGroup, participantAttrs } from "./groups";
import { encryptMedia, generatedMedia } from "./media-store";
import { giveTokenOnFirstContact } from "./privacy-tokens";
import { type Sim, unixNow } from "./sim";
import { type LinkedDevice, type Phone, rememberForResend, takeDeviceBundle } from "./state";

export interface MediaInput {
  type: "image" | "video" | "audio" | "voice" | "document" | "sticker";
  mimetype: string;
  /** the file; or `size` for a generated one */
  base64?: string;
  /** a generated file of this many bytes, never held in memory (media-store.ts) */
  size?: number;
  /** served without Content-Length (a generated file only) */
  chunked?: boolean;
  /** the size the message announces, whatever the file's real one (a lying sender) */
  fileLength?: number;
  /**
   * the download URL the message names instead of the media host's: the sender's client writes
   * it, so a crafted client may name any address (an internal one, to make the receiver fetch it)
   */
  url?: string;
  /** the wrapper WhatsApp puts around it: disappearing chats, view once, a captioned document */
  wrap?: "ephemeral" | "viewOnce" | "documentWithCaption";
  caption?: string;
  fileName?: string;
}

export interface PhoneMessageInput {
  text?: string;
  media?: MediaInput;
  asLid?: boolean;
}

/** The message a phone composes (media uploaded to the media host first) and the stanza attrs that describe it. */
export async function composeMessage(
  sim: Sim,
  content: PhoneMessageInput,
): Promise<{ id: string; message: proto.IMessage; type: string; mediatype?: string; mediaPath?: string }> {
  const media = content.media ? await mediaMessage(sim, content.media, content.text) : undefined;
  const message = media?.message ?? { conversation: content.text ?? "" };
  const id = `3EB0${randomBytes(8).toString("hex").toUpperCase()}`;
  return {
    id,
    message,
    type: content.media ? "media" : "text",
    ...(content.media ? { mediatype: mediaTypeAttr(content.media), mediaPath: media!.path } : {}),
  };
}

/** One `<enc>` from a phone's device 0 to one companion (pkmsg until that companion has answered, then msg). */
export async function encryptFor(
  from: Phone,
  d: LinkedDevice,
  message: proto.IMessage,
  mediatype?: string,
): Promise<BinaryNode | undefined> {
  if (d.preKeys.length === 0) return undefined; // linked but never logged in: nothing to encrypt to
  const peer = { user: d.phone, device: d.id };
  if (!from.signal.hasSession(peer)) await from.signal.startSession(peer, takeDeviceBundle(d));
  const { type, ciphertext } = await from.signal.encrypt(
    peer,
    writeRandomPadMax16(proto.Message.encode(message).finish()),
  );
  return { tag: "enc", attrs: { v: "2", type, ...(mediatype ? { mediatype } : {}) }, content: ciphertext };
}

export async function sendFromContact(
  sim: Sim,
  from: Phone,
  to: Phone,
  content: PhoneMessageInput,
): Promise<{ id: string; devices: number; mediaPath?: string }> {
  const composed = await composeMessage(sim, content);
  const devices = await deliverToAccount(sim, from, to, composed, content.asLid);
  return { id: composed.id, devices, ...(composed.mediaPath ? { mediaPath: composed.mediaPath } : {}) };
}

/** A phone's message to every companion of the account `to`; answers how many got a copy. */
export async function deliverToAccount(
  sim: Sim,
  from: Phone,
  to: Phone,
  m: { id: string; message: proto.IMessage; type: string; mediatype?: string },
  asLid?: boolean,
): Promise<number> {
  const addressing = senderAddressing(from, asLid);
  giveTokenOnFirstContact(from, to, addressing.from);
  let devices = 0;
  // a `garbled` fault: this message reaches the companions in a form they cannot decrypt
  const garble = (from.garbleNext ?? 0) > 0;
  if (garble) from.garbleNext!--;
  for (const d of to.devices.values()) {
    const enc = await encryptFor(from, d, m.message, m.mediatype);
    if (!enc) continue;
    if (garble && enc.content instanceof Uint8Array) {
      const c = Buffer.from(enc.content);
      c[c.length - 12] ^= 0xff; // inside the MAC-protected body: libsignal answers "Bad MAC"
      enc.content = c;
    }
    const attrs = { ...addressing, id: m.id, t: unixNow(), type: m.type, notify: from.name };
    rememberForResend(from, d.phone, attrs, m.message, m.mediatype);
    deliverOrQueue(d, { tag: "message", attrs, content: [enc] });
    devices++;
  }
  return devices;
}

/**
 * How a contact's stanza names it: LID-addressed stanzas name the sender by LID and carry the
 * phone number alongside (sender_pn), unless the contact shares only its LID.
 */
export function senderAddressing(from: Phone, asLid?: boolean): Record<string, string> {
  if (from.hidePhone) return { from: `${from.lid}@lid`, addressing_mode: "lid" };
  if (asLid) return { from: `${from.lid}@lid`, sender_pn: `${from.phone}@s.whatsapp.net`, addressing_mode: "lid" };
  return { from: `${from.phone}@s.whatsapp.net` };
}

/** The contact's phone reports delivered/read for messages the linked device sent it. */
export function sendReceipts(sim: Sim, contact: Phone, messageIds: string[], type: "delivered" | "read"): number {
  let sent = 0;
  for (const mid of messageIds) {
    const entry = contact.inbox.get(mid);
    if (!entry) continue;
    const sender = sim.state.phones.get(entry.from);
    // in a group the receipt comes from the group, naming the member who received it
    const group = isJidGroup(entry.chatJid) ? findGroup(sim, entry.chatJid) : undefined;
    const member: Record<string, string> = group ? { participant: participantAttrs(group, contact).participant } : {};
    for (const d of sender?.devices.values() ?? []) {
      deliverOrQueue(d, {
        tag: "receipt",
        attrs: { id: mid, from: entry.chatJid, ...member, t: unixNow(), ...(type === "read" ? { type: "read" } : {}) },
      });
      sent++;
    }
  }
  return sent;
}

function mediaTypeAttr(m: MediaInput): string {
  return m.type === "voice" ? "ptt" : m.type;
}

async function mediaMessage(
  sim: Sim,
  m: MediaInput,
  text?: string,
): Promise<{ message: proto.IMessage; path: string }> {
  const kind: MediaType = m.type === "voice" ? "audio" : m.type;
  let path: string;
  let keys: { mediaKey: Buffer; fileSha256: Buffer; fileEncSha256: Buffer };
  let realLength: number;
  if (m.size !== undefined) {
    const g = await generatedMedia(m.size, kind, m.chunked === true);
    path = sim.media.putGenerated(g.blob);
    keys = g;
    realLength = m.size;
  } else {
    const plain = Buffer.from(m.base64 ?? "", "base64");
    const e = await encryptMedia(plain, kind);
    path = sim.media.put(e.enc);
    keys = e;
    realLength = plain.length;
  }
  // a plain-http URL and no directPath: Baileys then downloads from the URL as given, so a
  // client needs no extra TLS trust to fetch what contacts send (see README, Client configuration)
  const common = {
    url: m.url ?? `http://${sim.mediaHost()}${path}`,
    mediaKey: keys.mediaKey,
    fileSha256: keys.fileSha256,
    fileEncSha256: keys.fileEncSha256,
    fileLength: m.fileLength ?? realLength,
    mimetype: m.mimetype,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
  };
  const caption = m.caption ?? text;
  return { message: wrap(inner(), m.wrap), path };

  function inner(): proto.IMessage {
    switch (m.type) {
      case "image":
        return { imageMessage: { ...common, caption } };
      case "video":
        return { videoMessage: { ...common, caption } };
      case "sticker":
        return { stickerMessage: common };
      case "audio":
        return { audioMessage: common };
      case "voice":
        return { audioMessage: { ...common, ptt: true } };
      case "document":
        return { documentMessage: { ...common, caption, fileName: m.fileName ?? "file" } };
    }
  }
}

/** The FutureProofMessage wrappers WhatsApp uses (Baileys' normalizeMessageContent unwraps them). */
function wrap(message: proto.IMessage, how: MediaInput["wrap"]): proto.IMessage {
  switch (how) {
    case undefined:
      return message;
    case "ephemeral":
      return { ephemeralMessage: { message } };
    case "viewOnce":
      return { viewOnceMessageV2: { message } };
    case "documentWithCaption":
      return { documentWithCaptionMessage: { message } };
  }
}
