import { AsyncLocalStorage } from "node:async_hooks";
import {
  type BinaryNode,
  decodeMessageNode,
  proto,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
  unpadRandomMax16,
  type WAMessage,
  type WASocket,
} from "@whiskeysockets/baileys";
import { SessionCipher } from "libsignal";
import type { Logger } from "pino";

// Durable before acknowledged (docs/decisions/008-durable-before-acknowledged.md).
//
// WhatsApp forgets what a companion has acknowledged, and Baileys rc14 acknowledges an incoming
// message (its delivery receipt) BEFORE it emits it to the app, and an incoming receipt right
// after emitting it. A crash in between loses the message or the status for good. So:
//
// Messages: the decrypted message is stored before the Signal session change that decrypting it
// made is committed, and so before Baileys can send its receipt. The plaintext is taken from
// libsignal's SessionCipher inside the decryption's own context, and the key store's commit
// (the `set` Baileys' transaction ends with) first hands it, with its stanza, to `store`, which
// resolves once the message is in Postgres or the Redis spool. Until then the commit waits (so
// does Baileys, which decrypts one message at a time per socket). A crash before the store
// leaves the session unchanged in Postgres and the message unacknowledged: WhatsApp replays it at
// the next login, it decrypts again, and it is stored once (by WhatsApp id).
//
// Receipts: the socket's receipt stanzas reach Baileys only after `applyReceipts` made them
// durable; one that cannot be made durable is never handed to Baileys, so it is never acked and
// WhatsApp replays it at the next login.

type Pending = { stanza: BinaryNode; plaintext?: Uint8Array; stored: boolean };
const current = new AsyncLocalStorage<Pending>();

let patched = false;
/** libsignal's decryptions tell the surrounding message (if any) what they decrypted. */
function captureLibsignalPlaintexts(): void {
  if (patched) return;
  patched = true;
  const proto_ = SessionCipher.prototype as unknown as Record<string, (...a: unknown[]) => Promise<Uint8Array>>;
  for (const name of ["decryptWhisperMessage", "decryptPreKeyWhisperMessage"]) {
    const orig = proto_[name];
    proto_[name] = async function (this: unknown, ...a: unknown[]) {
      const plain = await orig.apply(this, a);
      const p = current.getStore();
      if (p && !p.stored) p.plaintext = plain;
      return plain;
    };
  }
}

export type StoreBeforeAck = {
  /** the key store to give Baileys: its commits store the message being decrypted first */
  keys: SignalKeyStore;
  /** right after makeWASocket, before anything can arrive */
  attach(sock: WASocket): void;
  /** ids stored before Baileys emitted them (their upsert needs no second store); each asked once */
  takeStored(id: string | null | undefined): boolean;
};

export function storeBeforeAck(o: {
  keys: SignalKeyStore;
  log: Logger;
  /** resolves once the message is durable; rejects only when it never can be on this socket */
  store: (m: WAMessage) => Promise<void>;
  /** resolves true once the receipt stanza's statuses are durable, false when they cannot be */
  receipt: (node: BinaryNode) => Promise<boolean>;
  /** a 1:1 message stanza that did not decrypt (Baileys then asks the sender for it again); awaited first */
  undecryptable?: (node: BinaryNode) => Promise<void>;
  /** a stanza of WhatsApp's offline replay arrived or was decrypted (at most every 500 ms) */
  replaying?: () => void;
}): StoreBeforeAck {
  captureLibsignalPlaintexts();
  const byCiphertext = new WeakMap<object, BinaryNode>();
  const stored = new Set<string>();
  let me: { id: string; lid: string } = { id: "", lid: "" };

  let lastReplayNote = 0;
  const replaying = (node: BinaryNode) => {
    if (!node.attrs.offline || !o.replaying || Date.now() - lastReplayNote < 500) return;
    lastReplayNote = Date.now();
    o.replaying();
  };

  const flush = async (p: Pending) => {
    if (p.stored || !p.plaintext) return;
    const m = toWaMessage(p.stanza, p.plaintext, me);
    await o.store(m);
    p.stored = true;
    if (m.key.id) {
      stored.add(m.key.id);
      if (stored.size > 5000)
        for (const id of stored) {
          stored.delete(id);
          if (stored.size <= 4000) break;
        }
    }
  };

  const keys: SignalKeyStore = {
    get: <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => o.keys.get(type, ids),
    async set(data: SignalDataSet) {
      const p = current.getStore();
      if (p) await flush(p);
      return o.keys.set(data);
    },
    ...(o.keys.clear ? { clear: () => o.keys.clear!() } : {}),
  };

  return {
    keys,
    takeStored: (id) => !!id && stored.delete(id),
    attach(sock) {
      const ws = sock.ws as unknown as {
        prependListener(ev: string, fn: (n: BinaryNode) => void): void;
        listeners(ev: string): ((n: BinaryNode) => unknown)[];
        removeAllListeners(ev: string): void;
        on(ev: string, fn: (n: BinaryNode) => void): void;
        isOpen: boolean;
      };
      const creds = (sock as unknown as { authState: { creds: { me?: { id?: string; lid?: string } } } }).authState
        .creds;
      // which stanza a ciphertext came in: libsignal sees only the bytes
      ws.prependListener("CB:message", (node) => {
        replaying(node);
        if (!Array.isArray(node.content)) return;
        // 1:1 only: a group stanza's content is in its skmsg, decrypted elsewhere; groups and
        // broadcasts keep to the upsert path
        const from = node.attrs.from ?? "";
        if (from.endsWith("@g.us") || from.endsWith("@broadcast") || from.endsWith("@newsletter")) return;
        for (const c of node.content)
          if (c.tag === "enc" && c.content instanceof Uint8Array) byCiphertext.set(c.content, node);
      });
      const repo = sock.signalRepository as unknown as {
        decryptMessage(a: { jid: string; type: string; ciphertext: Uint8Array }): Promise<Uint8Array>;
      };
      const decrypt = repo.decryptMessage.bind(repo);
      repo.decryptMessage = async (a) => {
        const stanza = byCiphertext.get(a.ciphertext);
        if (!stanza) return decrypt(a);
        me = { id: creds.me?.id ?? "", lid: creds.me?.lid ?? "" };
        const p: Pending = { stanza, stored: false };
        let plain: Uint8Array;
        try {
          plain = await current.run(p, () => decrypt(a));
        } catch (err) {
          await o.undecryptable?.(stanza).catch(() => {});
          throw err;
        }
        // a decryption that changed no key (none known) still stores before Baileys acks
        await current.run(p, () => flush(p));
        replaying(stanza);
        return plain;
      };

      // receipts: durable first, then Baileys (which emits them and acks), one at a time in order
      const theirs = ws.listeners("CB:receipt");
      ws.removeAllListeners("CB:receipt");
      let chain: Promise<unknown> = Promise.resolve();
      ws.on("CB:receipt", (node) => {
        chain = chain
          .then(() => o.receipt(node))
          .then((ok) => {
            if (ok) for (const l of theirs) void l(node);
            else o.log.warn({ id: node.attrs.id }, "receipt not durable; left unacknowledged for WhatsApp to replay");
          })
          .catch((err) => o.log.warn({ err, id: node.attrs.id }, "receipt handling failed; left unacknowledged"));
      });
    },
  };
}

/** The message as Baileys will emit it (decodeMessageNode + the decrypted content). */
function toWaMessage(stanza: BinaryNode, plaintext: Uint8Array, me: { id: string; lid: string }): WAMessage {
  const { fullMessage } = decodeMessageNode(stanza, me.id, me.lid);
  const decoded = proto.Message.decode(unpadRandomMax16(plaintext));
  const msg = decoded.deviceSentMessage?.message || decoded;
  fullMessage.message = msg as proto.Message;
  return fullMessage;
}

/** Receipt stanza → the statuses Baileys would emit for our own messages (none for groups). */
export function receiptsOf(
  node: BinaryNode,
  me: { id?: string; lid?: string },
): { waMessageId: string; status: number }[] {
  const a = node.attrs;
  const status = a.type === undefined ? 3 : a.type === "read" ? 4 : a.type === "played" ? 5 : undefined;
  if (status === undefined || !a.id) return [];
  const from = a.from ?? "";
  if (from.endsWith("@g.us") || from.endsWith("@broadcast")) return [];
  // our own other devices reporting what they read is not a contact's receipt for our message
  const user = (j?: string) => j?.split("@")[0].split(":")[0];
  const who = user(a.participant ?? from);
  if (who && (who === user(me.id) || who === user(me.lid))) return [];
  const ids = [a.id];
  const list = Array.isArray(node.content) ? node.content.find((c) => c.tag === "list") : undefined;
  if (Array.isArray(list?.content)) for (const item of list.content) if (item.attrs?.id) ids.push(item.attrs.id);
  return ids.map((waMessageId) => ({ waMessageId, status }));
}
