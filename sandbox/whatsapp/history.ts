// History sync as WhatsApp does it: after a companion links, the account's phone sends it the
// chats it holds, as `protocolMessage.historySyncNotification`s from its own device 0. Each
// notification names a blob on the media host (a HistorySync protobuf, zlib-deflated, then
// encrypted as media of type "md-msg-hist"), which the companion downloads by `directPath`
// (Baileys' Utils/history.js). The first chunk is INITIAL_BOOTSTRAP, the rest RECENT with
// chunkOrder and progress (100 on the last), then PUSH_NAME with the contacts' names. Chats carry
// the contacts' privacy tokens (tcToken), and the bootstrap the phone→LID mappings.

import { randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";
import { proto } from "@whiskeysockets/baileys";
import { deliverOrQueue } from "./delivery";
import { composeMessage, encryptFor, type PhoneMessageInput } from "./inbound-messages";
import { encryptMedia } from "./media-store";
import { type Sim, unixNow } from "./sim";
import type { LinkedDevice, Phone } from "./state";

/** Messages per notification: WhatsApp splits a history into chunks of a few hundred KB. */
export const HISTORY_CHUNK_MESSAGES = 100;
/** Pause between two notifications, as the phone uploads one blob after another. */
const CHUNK_GAP_MS = 150;

export interface HistoryMessage {
  id: string;
  fromMe: boolean;
  message: proto.IMessage;
  /** unix seconds */
  at: number;
}

export interface HistoryChat {
  /** the other party's phone (a sim phone; one that hides its phone is named by its LID) */
  with: string;
  messages: HistoryMessage[];
}

export type HistoryInput = {
  with: string;
  messages: (PhoneMessageInput & { fromMe: boolean; at: string | number })[];
}[];

/** Stores the chats a phone holds (merged by contact), composed now so that every sync sends the same ids. */
export async function addHistory(
  sim: Sim,
  owner: Phone,
  chats: HistoryInput,
): Promise<{ chats: number; messages: number }> {
  owner.history ??= [];
  let added = 0;
  for (const c of chats) {
    const contact = sim.state.addPhone(c.with);
    let chat = owner.history.find((h) => h.with === contact.phone);
    if (!chat) owner.history.push((chat = { with: contact.phone, messages: [] }));
    for (const m of c.messages) {
      const composed = await composeMessage(sim, m);
      const at =
        typeof m.at === "number" ? Math.floor(m.at > 1e12 ? m.at / 1000 : m.at) : Math.floor(Date.parse(m.at) / 1000);
      chat.messages.push({ id: composed.id, fromMe: m.fromMe, message: composed.message, at });
      added++;
    }
  }
  return { chats: owner.history.length, messages: owner.history.reduce((n, h) => n + h.messages.length, 0) };
}

/** Sends the phone's history to one companion (right after its first login): one notification after another. */
export async function sendHistory(sim: Sim, owner: Phone, d: LinkedDevice): Promise<number> {
  const syncs = buildSyncs(sim, owner);
  let sent = 0;
  for (const [i, s] of syncs.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, CHUNK_GAP_MS));
    if (owner.devices.get(d.id) !== d) break; // unlinked meanwhile
    const notification = await upload(sim, s);
    const message: proto.IMessage = {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
        historySyncNotification: notification,
      },
    };
    const enc = await encryptFor(owner, d, message);
    if (!enc) break;
    const id = `3EB0${randomBytes(8).toString("hex").toUpperCase()}`;
    deliverOrQueue(d, {
      tag: "message",
      attrs: { from: `${owner.phone}@s.whatsapp.net`, id, t: unixNow(), type: "text", category: "peer" },
      content: [enc],
    });
    sent++;
  }
  d.historySyncs = (d.historySyncs ?? 0) + sent;
  return sent;
}

/**
 * A companion asked its phone for older messages of one chat (Baileys' fetchMessageHistory: a
 * peer `historySyncOnDemandRequest`): up to `onDemandMsgCount` messages of that chat older than
 * the one named, newest first, in one ON_DEMAND notification carrying the request's id.
 */
export async function answerOnDemand(
  sim: Sim,
  owner: Phone,
  d: LinkedDevice,
  requestId: string,
  req: proto.Message.PeerDataOperationRequestMessage.IHistorySyncOnDemandRequest,
): Promise<number> {
  const user = (req.chatJid ?? "").split("@")[0];
  const contact = sim.state.resolveUser(user);
  const chat = owner.history?.find((h) => h.with === contact?.phone);
  const before = asNumber(req.oldestMsgTimestampMs, Date.now()) / 1000;
  const older = (chat?.messages ?? [])
    .filter((m) => m.id !== req.oldestMsgId && m.at <= before)
    .sort((a, b) => b.at - a.at)
    .slice(0, Math.max(0, Math.min(asNumber(req.onDemandMsgCount, 50), 500)));
  const contacts = new Map(contact ? [[contact.phone, contact]] : []);
  const sync: proto.IHistorySync = {
    syncType: proto.HistorySync.HistorySyncType.ON_DEMAND,
    chunkOrder: 0,
    progress: 100,
    conversations:
      contact && older.length
        ? conversations(
            owner,
            contacts,
            older.map((m) => ({ chat: contact.phone, m })),
          )
        : [],
  };
  const notification = { ...(await upload(sim, sync)), peerDataRequestSessionId: requestId };
  const enc = await encryptFor(owner, d, {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: notification,
    },
  });
  if (!enc) return 0;
  const id = `3EB0${randomBytes(8).toString("hex").toUpperCase()}`;
  deliverOrQueue(d, {
    tag: "message",
    attrs: { from: `${owner.phone}@s.whatsapp.net`, id, t: unixNow(), type: "text", category: "peer" },
    content: [enc],
  });
  d.historySyncs = (d.historySyncs ?? 0) + 1;
  return older.length;
}

/** The HistorySync messages for the phone's chats: newest messages first, split in chunks. */
export function buildSyncs(sim: Sim, owner: Phone): proto.IHistorySync[] {
  const chats = owner.history ?? [];
  const contacts = new Map(chats.map((c) => [c.with, sim.state.phones.get(c.with)!]));
  const all = chats.flatMap((c) => c.messages.map((m) => ({ chat: c.with, m }))).sort((a, b) => b.m.at - a.m.at);
  const chunks: (typeof all)[] = [];
  for (let i = 0; i < all.length; i += HISTORY_CHUNK_MESSAGES) chunks.push(all.slice(i, i + HISTORY_CHUNK_MESSAGES));
  if (chunks.length < 2) chunks.push([]); // the bootstrap, then at least one RECENT that says 100 %
  const T = proto.HistorySync.HistorySyncType;
  const mappings = [...contacts.values()]
    .filter((p) => !p.hidePhone)
    .map((p) => ({ pnJid: `${p.phone}@s.whatsapp.net`, lidJid: `${p.lid}@lid` }));
  const syncs: proto.IHistorySync[] = chunks.map((chunk, i) => ({
    syncType: i === 0 ? T.INITIAL_BOOTSTRAP : T.RECENT,
    chunkOrder: i,
    progress: i === 0 ? undefined : Math.round((100 * i) / (chunks.length - 1)),
    conversations: conversations(owner, contacts, chunk),
    ...(i === 0 ? { phoneNumberToLidMappings: mappings } : {}),
  }));
  syncs.push({
    syncType: T.PUSH_NAME,
    chunkOrder: chunks.length,
    pushnames: [...contacts.values()].map((p) => ({ id: chatJid(p), pushname: p.name })),
  });
  return syncs;
}

function conversations(
  owner: Phone,
  contacts: Map<string, Phone>,
  chunk: { chat: string; m: HistoryMessage }[],
): proto.IConversation[] {
  const byChat = new Map<string, HistoryMessage[]>();
  for (const { chat, m } of chunk) byChat.set(chat, [...(byChat.get(chat) ?? []), m]);
  return [...byChat].map(([chat, msgs]) => {
    const p = contacts.get(chat)!;
    const jid = chatJid(p);
    // the contact's trusted-contact token for this account: given once, the same in every sync
    let token = p.tokensGiven.get(owner.phone);
    if (!token) p.tokensGiven.set(owner.phone, (token = randomBytes(20)));
    return {
      id: jid,
      ...(p.hidePhone ? {} : { lidJid: `${p.lid}@lid` }),
      name: p.name,
      lastMsgTimestamp: msgs[0].at,
      conversationTimestamp: msgs[0].at,
      tcToken: token,
      tcTokenTimestamp: Math.floor(Date.now() / 1000),
      // newest first, as WhatsApp lists them
      messages: msgs.map((m, i) => ({
        msgOrderId: msgs.length - i,
        message: {
          key: { remoteJid: jid, fromMe: m.fromMe, id: m.id },
          message: m.message,
          messageTimestamp: m.at,
          ...(m.fromMe ? { status: proto.WebMessageInfo.Status.READ } : { pushName: p.name }),
        },
      })),
    };
  });
}

async function upload(sim: Sim, sync: proto.IHistorySync): Promise<proto.Message.IHistorySyncNotification> {
  const plain = deflateSync(proto.HistorySync.encode(sync).finish());
  const e = await encryptMedia(plain, "md-msg-hist");
  const directPath = sim.media.put(e.enc);
  const times = (sync.conversations ?? []).flatMap((c) =>
    (c.messages ?? []).map((m) => Number(m.message?.messageTimestamp ?? 0)),
  );
  return {
    fileSha256: e.fileSha256,
    fileEncSha256: e.fileEncSha256,
    mediaKey: e.mediaKey,
    fileLength: plain.length,
    directPath,
    syncType: sync.syncType,
    chunkOrder: sync.chunkOrder,
    ...(sync.progress != null ? { progress: sync.progress } : {}),
    ...(times.length ? { oldestMsgInChunkTimestampSec: Math.min(...times) } : {}),
  };
}

/** How the account's phone names a contact: by phone number unless the contact hides it. */
function chatJid(p: Phone): string {
  return p.hidePhone ? `${p.lid}@lid` : `${p.phone}@s.whatsapp.net`;
}

/** A protobuf integer as a number (int64 fields decode as Long objects). */
function asNumber(v: number | { toString(): string } | null | undefined, fallback: number): number {
  return v == null ? fallback : Number(typeof v === "number" ? v : v.toString());
}
