// What the linked device sends: the server acks the stanza, and each addressed phone decrypts its
// copy with its own Signal session, as the recipient's phone would, and files it in its inbox.
import {
  type BinaryNode,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  isJidGroup,
  jidDecode,
  type MediaType,
  proto,
  unpadRandomMax16,
} from "@whiskeysockets/baileys";
import type { Connection } from "./connection";
import { relayCompanionGroupMessage } from "./group-messages";
import { answerOnDemand } from "./history";
import { decryptMedia, sha256 } from "./media-store";
import { carriesValidToken, oneToOneRecipient } from "./privacy-tokens";
import { askForRetry, failsToDecrypt, retrySettled } from "./retry-receipts";
import { refusal } from "./send-policy";
import { type Sim, unixNow } from "./sim";
import { deviceJid, type InboxEntry, type InboxMedia, type LinkedDevice } from "./state";

export async function handleClientMessage(conn: Connection, device: LinkedDevice, node: BinaryNode): Promise<void> {
  const { id, to } = node.attrs;
  const delay = conn.sim.state.ackDelayFor(device.phone);
  const error = refusal(conn.sim, device, node);
  const ack: BinaryNode = {
    tag: "ack",
    attrs: { class: "message", id, from: to, t: unixNow(), ...(error ? { error } : {}) },
  };
  if (delay > 0) setTimeout(() => conn.send(ack), delay).unref();
  else conn.send(ack);
  if (error) return; // refused: no recipient gets a copy
  if (isJidGroup(to)) return relayCompanionGroupMessage(conn.sim, device, node);

  const recipient = oneToOneRecipient(conn.sim, device, node);
  // one <enc> per recipient device, inside <participants><to jid>, or a bare <enc> for one device
  const parts = getBinaryNodeChildren(getBinaryNodeChild(node, "participants"), "to").map((p) => ({
    jid: p.attrs.jid,
    enc: getBinaryNodeChild(p, "enc"),
  }));
  const bare = getBinaryNodeChild(node, "enc");
  if (bare) parts.push({ jid: to, enc: bare });
  for (const { jid, enc } of parts) {
    if (!enc || !(enc.content instanceof Uint8Array)) continue;
    const target = jidDecode(jid);
    const phone = target ? conn.sim.state.resolveUser(target.user) : undefined;
    // only the phones (device 0) are simulated recipients; other companions are not
    if (!phone || (target?.device ?? 0) !== 0) continue;
    const own = phone.phone === device.phone; // the sender's own phone: a device-sent copy
    if (!own && failsToDecrypt(phone)) {
      askForRetry(phone, device, node);
      continue;
    }
    let message: proto.IMessage;
    try {
      const plain = await phone.signal.decrypt({ user: device.phone, device: device.id }, enc.attrs.type, enc.content);
      message = proto.Message.decode(unpadRandomMax16(plain));
    } catch {
      // what a real phone does with a copy it cannot read
      if (!own) askForRetry(phone, device, node);
      continue;
    }
    if (own) {
      // the companion asks its phone for older messages of a chat (on-demand history sync)
      // (what a companion sends its own phone comes wrapped as a device-sent copy)
      const inner = message.deviceSentMessage?.message ?? message;
      const onDemand = inner.protocolMessage?.peerDataOperationRequestMessage?.historySyncOnDemandRequest;
      if (onDemand) void answerOnDemand(conn.sim, phone, device, id, onDemand).catch(() => {});
      continue;
    }
    retrySettled(phone, device, id);
    if (phone.inbox.has(id)) continue; // a resend: the phone shows it once
    const entry = await toInboxEntry(conn.sim, id, { phone: device.phone, deviceJid: deviceJid(device) }, to, message);
    if (recipient === phone) entry.tctoken = carriesValidToken(device, phone, node);
    phone.inbox.set(id, entry);
  }
}

/** What a phone files in its inbox for a message it received (and could decrypt). */
export async function toInboxEntry(
  sim: Sim,
  id: string,
  sender: { phone: string; deviceJid: string },
  chatJid: string,
  message: proto.IMessage,
): Promise<InboxEntry> {
  const m = message.deviceSentMessage?.message ?? message;
  const entry: InboxEntry = {
    id,
    from: sender.phone,
    fromDevice: sender.deviceJid,
    chatJid,
    messageType: Object.keys(m)[0] ?? "unknown",
    at: new Date().toISOString(),
  };
  const text = m.conversation ?? m.extendedTextMessage?.text;
  if (text != null) entry.text = text;
  const media = await readMedia(sim, m);
  if (media) {
    entry.media = media;
    if (media.caption) entry.text = media.caption;
  }
  return entry;
}

type MediaFields = {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
  fileSha256?: Uint8Array | null;
  fileLength?: number | Long | null;
  mimetype?: string | null;
  caption?: string | null;
  fileName?: string | null;
  ptt?: boolean | null;
};
type Long = { toNumber(): number };

const MEDIA_KINDS: [keyof proto.IMessage, MediaType][] = [
  ["imageMessage", "image"],
  ["videoMessage", "video"],
  ["audioMessage", "audio"],
  ["documentMessage", "document"],
  ["stickerMessage", "sticker"],
];

async function readMedia(sim: Sim, msg: proto.IMessage): Promise<InboxMedia | undefined> {
  let m = msg;
  // the wrappers a contact's phone may use (inbound-messages.ts, wrap)
  for (let i = 0; i < 3; i++)
    m = m.ephemeralMessage?.message ?? m.viewOnceMessageV2?.message ?? m.documentWithCaptionMessage?.message ?? m;
  for (const [key, type] of MEDIA_KINDS) {
    const f = m[key] as MediaFields | null | undefined;
    if (!f) continue;
    const out: InboxMedia = { type, size: Number(f.fileLength ?? 0), intact: false };
    if (f.mimetype) out.mimetype = f.mimetype;
    if (f.caption) out.caption = f.caption;
    if (f.fileName) out.fileName = f.fileName;
    if (f.ptt) out.ptt = true;
    const path = f.directPath ?? (f.url ? new URL(f.url).pathname : undefined);
    const generated = path ? sim.media.entry(path)?.generated : undefined;
    if (generated) return { ...out, size: generated.size, intact: true }; // never decrypted whole
    const blob = path ? sim.media.get(path) : undefined;
    if (blob && f.mediaKey) {
      try {
        const plain = await decryptMedia(blob, f.mediaKey, type);
        out.base64 = plain.toString("base64");
        out.size = plain.length;
        out.intact = !f.fileSha256 || sha256(plain).equals(Buffer.from(f.fileSha256));
      } catch {
        out.intact = false;
      }
    }
    return out;
  }
  return undefined;
}
