// Everything the simulator remembers, in memory. Kept deliberately small per linked device
// (keys as packed buffers, no timers) so that one process holds thousands of them.
import type { BinaryNode, proto } from "@whiskeysockets/baileys";
import type { SenderKeyRecord } from "@whiskeysockets/baileys/lib/Signal/Group/index.js";
import type { Group } from "./groups";
import type { HistoryChat } from "./history";
import { type PreKeyBundle, SignalAccount } from "./signal-account";
import { S_WHATSAPP_NET, unixNow } from "./sim";

export interface InboxMedia {
  type: string;
  mimetype?: string;
  caption?: string;
  fileName?: string;
  ptt?: boolean;
  size: number;
  base64?: string;
  /** false when the bytes could not be fetched or did not match the sha256 the sender signed */
  intact: boolean;
}

export interface InboxEntry {
  id: string;
  from: string; // the sender's phone number
  fromDevice: string; // the linked device that sent it (jid)
  chatJid: string; // how the sender addressed this phone (PN or LID jid), used for receipts
  text?: string;
  media?: InboxMedia;
  messageType: string;
  /** whether the companion's 1:1 stanza carried this phone's valid token (absent for what the owner typed on the phone) */
  tctoken?: boolean;
  at: string;
}

/** One companion (the app's Baileys client) linked to a phone. */
export interface LinkedDevice {
  phone: string;
  id: number;
  noisePub: Buffer;
  identityPub: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  /** uploaded one-time pre-keys, 35-byte records (3-byte id ‖ 32-byte key), consumed from `preKeyCursor` */
  preKeys: Buffer;
  preKeyCursor: number;
  connections: number;
  maxConcurrentConnections: number;
  logins: number;
  pairings: number;
  /** stanzas for this device while it is offline (or not yet acknowledged), replayed at the next login */
  offline: BinaryNode[];
  /** stanzas dropped because the queue exceeded MAX_OFFLINE (see delivery.ts) */
  offlineDropped: number;
  live?: LiveSocket;
  /** privacy-token issuance IQs this companion sent, per contact phone (allocated on the first) */
  tctokenIssuances?: Map<string, number>;
  /** retry receipts this companion sent for phones' messages, by what the phone did (companion-retries.ts) */
  retryReceipts?: Partial<Record<"resent" | "unknown-sender" | "not-kept" | "gave-up", number>>;
  /** linked and not yet sent the phone's history: it goes out once the first login is ready (history.ts) */
  historyPending?: boolean;
  /** history sync notifications sent to this companion */
  historySyncs?: number;
}

/** The device's current socket, as the rest of the simulator sees it. */
export interface LiveSocket {
  /** false until the socket took over the offline queue; stanzas queue behind it until then */
  ready: boolean;
  /** writes a stanza and keeps it until the client acknowledges it */
  deliver(node: BinaryNode): void;
  /** writes a stanza nobody needs replayed (e.g. the pre-key-low hint) */
  send(node: BinaryNode): void;
  streamError(node: BinaryNode): void;
  drop(): void;
  /** how many delivered stanzas the client has not acknowledged yet */
  unacked(): number;
  /** requeues the unacknowledged stanzas (the socket is being replaced) */
  giveBack(): void;
}

export interface Phone {
  phone: string;
  name: string;
  lid: string; // LID user part (digits), stable for the phone's lifetime
  signal: SignalAccount;
  devices: Map<number, LinkedDevice>;
  nextDeviceId: number;
  /** what this phone received, by message id, in arrival order: a resent message is filed once */
  inbox: Map<string, InboxEntry>;
  banned: boolean;
  /** "locked": this account may not reach out, its 1:1 messages need the contact's token (463) */
  reachout: "open" | "locked";
  /** the trusted-contact token this phone gave each account it wrote to, by account phone */
  tokensGiven: Map<string, Buffer>;
  /** a contact that shares only its LID: its stanzas carry no phone number (no sender_pn) */
  hidePhone: boolean;
  /** a LID-only contact that revealed its phone: still addressed by LID, now with sender_pn */
  revealed: boolean;
  /** an armed `undecryptable` fault: the next this many companion messages fail to decrypt here */
  failDecrypts: number;
  /** a `garbled` fault: the companions cannot decrypt this phone's next this many messages */
  garbleNext?: number;
  /** how long this phone takes to answer a companion's retry receipt (a `garbled` fault's delayMs) */
  resendDelayMs?: number;
  /** retry receipts this phone sent per "senderPhone:device:messageId", until it decrypts a copy */
  retriesAsked: Map<string, number>;
  /** what this phone sent to companions, by "accountPhone:messageId", for their retry receipts (newest MAX_RESENDABLE) */
  resendable: Map<string, Resendable>;
  /** group sender keys this phone holds, its own and those companions gave it (allocated on the first group) */
  senderKeys?: Map<string, SenderKeyRecord>;
  /** the companions ("groupJid|deviceJid") this phone has given its own sender key for a group */
  senderKeyGiven?: Set<string>;
  /** the chats this phone holds, sent to each companion it links (history.ts) */
  history?: HistoryChat[];
}

/** A message a phone sent to an account's companions, as it would encrypt it again. */
export interface Resendable {
  attrs: Record<string, string>;
  message: proto.IMessage;
  mediatype?: string;
  /** resends so far, per companion device id */
  resent: Map<number, number>;
}

export const PRE_KEY_RECORD = 35;
const LOW_PRE_KEYS = 4;

export class SimState {
  readonly phones = new Map<string, Phone>();
  readonly byLid = new Map<string, Phone>();
  /** groups by id (the user part of their @g.us jid), groups.ts */
  readonly groups = new Map<string, Group>();
  /** per-phone (or "*" for every phone) delay before the server acks the device's messages */
  readonly ackDelayMs = new Map<string, number>();
  /** per-phone (or "*") armed `nack` faults: the next `remaining` sent messages get error `code` */
  readonly nackFaults = new Map<string, { code: string; remaining: number }>();
  private lidSeq = 100_000_000_000_001;

  addPhone(phone: string, name?: string, hidePhone?: boolean): Phone {
    const existing = this.phones.get(phone);
    if (existing) {
      if (name) existing.name = name;
      if (hidePhone !== undefined) existing.hidePhone = hidePhone;
      return existing;
    }
    const p: Phone = {
      phone,
      name: name ?? `+${phone}`,
      lid: String(this.lidSeq++),
      signal: new SignalAccount(),
      devices: new Map(),
      nextDeviceId: 1,
      inbox: new Map(),
      banned: false,
      reachout: "open",
      tokensGiven: new Map(),
      failDecrypts: 0,
      retriesAsked: new Map(),
      resendable: new Map(),
      hidePhone: hidePhone ?? false,
      revealed: false,
    };
    this.phones.set(phone, p);
    this.byLid.set(p.lid, p);
    return p;
  }

  /** A phone by any user part the client may use: phone number or LID. */
  resolveUser(user: string): Phone | undefined {
    return this.phones.get(user) ?? this.byLid.get(user);
  }

  linkedDevices(): LinkedDevice[] {
    const out: LinkedDevice[] = [];
    for (const p of this.phones.values()) out.push(...p.devices.values());
    return out;
  }

  ackDelayFor(phone: string): number {
    return this.ackDelayMs.get(phone) ?? this.ackDelayMs.get("*") ?? 0;
  }
}

export function deviceJid(d: LinkedDevice): string {
  return `${d.phone}:${d.id}@s.whatsapp.net`;
}

export function takeDeviceBundle(d: LinkedDevice): PreKeyBundle {
  const bundle: PreKeyBundle = {
    registrationId: d.registrationId,
    identityKey: d.identityPub,
    signedPreKey: d.signedPreKey,
  };
  if (d.preKeyCursor + PRE_KEY_RECORD <= d.preKeys.length) {
    const rec = d.preKeys.subarray(d.preKeyCursor, d.preKeyCursor + PRE_KEY_RECORD);
    d.preKeyCursor += PRE_KEY_RECORD;
    bundle.preKey = { keyId: rec.readUIntBE(0, 3), publicKey: Buffer.from(rec.subarray(3)) };
    // running low: WhatsApp tells the device, which uploads a fresh batch (MIN_PREKEY_COUNT is 5)
    if (remainingPreKeys(d) === LOW_PRE_KEYS) {
      d.live?.send({
        tag: "notification",
        attrs: {
          from: S_WHATSAPP_NET,
          type: "encrypt",
          id: `prekey-low-${d.phone}-${d.id}-${d.preKeyCursor}`,
          t: unixNow(),
        },
        content: [{ tag: "count", attrs: { value: String(LOW_PRE_KEYS) } }],
      });
    }
  }
  return bundle;
}

export function remainingPreKeys(d: LinkedDevice): number {
  return Math.max(0, (d.preKeys.length - d.preKeyCursor) / PRE_KEY_RECORD);
}

/** How many sent messages a phone keeps for its companions' retry receipts (a real phone keeps its whole history). */
export const MAX_RESENDABLE = 5000;

/** A phone keeps what it sent to an account's companions, so it can encrypt it again on a retry receipt. */
export function rememberForResend(
  from: Phone,
  accountPhone: string,
  attrs: Record<string, string>,
  message: proto.IMessage,
  mediatype?: string,
): void {
  const key = `${accountPhone}:${attrs.id}`;
  from.resendable.delete(key);
  from.resendable.set(key, { attrs, message, mediatype, resent: new Map() });
  if (from.resendable.size > MAX_RESENDABLE) from.resendable.delete(from.resendable.keys().next().value!);
}
