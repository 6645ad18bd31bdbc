// Answers to every iq the Baileys client sends. Unknown queries get an empty result rather than
// silence: a query left hanging stalls the client for its full timeout.
import {
  type BinaryNode,
  encodeBigEndian,
  getBinaryNodeChild,
  getBinaryNodeChildBuffer,
  getBinaryNodeChildren,
  getBinaryNodeChildUInt,
  jidDecode,
} from "@whiskeysockets/baileys";
import type { Connection } from "./connection";
import { answerGroupIq } from "./groups";
import { onCompanionHello } from "./pairing";
import { countIssuance } from "./privacy-tokens";
import { own } from "./server-identity";
import type { PreKeyBundle } from "./signal-account";
import { S_WHATSAPP_NET } from "./sim";
import { PRE_KEY_RECORD, remainingPreKeys, takeDeviceBundle } from "./state";
import { answerUsync } from "./usync";

export async function handleIq(conn: Connection, node: BinaryNode): Promise<void> {
  const { attrs } = node;
  if (attrs.type === "result" || attrs.type === "error") {
    // the companion signed the ADV identity: a real server now forces a fresh login
    if (getBinaryNodeChild(node, "pair-device-sign")) conn.streamError({ tag: "stream:error", attrs: { code: "515" } });
    return;
  }
  const reply = (content?: BinaryNode[]) =>
    conn.send({
      tag: "iq",
      attrs: { from: S_WHATSAPP_NET, type: "result", id: attrs.id },
      ...(content ? { content } : {}),
    });
  const first = Array.isArray(node.content) ? (node.content[0] as BinaryNode | undefined) : undefined;
  switch (attrs.xmlns) {
    case "md":
      return onMd(conn, node, first, reply);
    case "encrypt":
      return onEncrypt(conn, node, first, reply);
    case "w:g2":
      return answerGroupIq(conn, node);
    case "usync":
      return reply(answerUsync(conn.sim, node));
    case "w:m":
      return reply([
        {
          tag: "media_conn",
          attrs: { auth: `sim-${conn.nextId()}`, ttl: "3600", auth_ttl: "21600", max_buckets: "12" },
          content: [
            {
              tag: "host",
              attrs: { hostname: conn.sim.mediaHost(), maxContentLengthBytes: String(100 * 1024 * 1024) },
            },
          ],
        },
      ]);
    case "w:sync:app:state": {
      const cols = getBinaryNodeChildren(getBinaryNodeChild(node, "sync"), "collection");
      return reply([
        {
          tag: "sync",
          attrs: {},
          content: cols.map((c) => ({
            tag: "collection",
            attrs: { name: c.attrs.name, version: c.attrs.version ?? "0" },
          })),
        },
      ]);
    }
    case "passive":
      reply();
      // the client is ready for stanzas: hand over what queued while it was away
      if (first?.tag === "active") conn.flushOffline();
      return;
    case "privacy":
      if (attrs.type === "set" && first?.tag === "tokens") countIssuance(conn.sim, conn.device, node);
      if (attrs.type !== "get") return reply();
      return reply([
        {
          tag: "privacy",
          attrs: {},
          content: ["last", "online", "profile", "status", "readreceipts", "groupadd", "calladd"].map((name) => ({
            tag: "category",
            attrs: { name, value: name === "calladd" ? "all" : name === "online" ? "all" : "contacts" },
          })),
        },
      ]);
    case "blocklist":
      return reply(attrs.type === "get" ? [{ tag: "list", attrs: {} }] : undefined);
    case "abt":
      return reply([{ tag: "props", attrs: { protocol: "1", hash: "sim" } }]);
    default:
      return reply();
  }
}

function onMd(
  conn: Connection,
  node: BinaryNode,
  first: BinaryNode | undefined,
  reply: (c?: BinaryNode[]) => void,
): void {
  if (first?.tag !== "link_code_companion_reg") return reply();
  const child = (tag: string): Buffer | undefined => {
    const b = getBinaryNodeChildBuffer(first, tag);
    return b ? Buffer.from(b) : undefined;
  };
  if (first.attrs.stage === "companion_hello") {
    onCompanionHello(conn, first, child);
    return reply([
      {
        tag: "link_code_companion_reg",
        attrs: {},
        content: [{ tag: "link_code_pairing_ref", attrs: {}, content: conn.pairCode?.ref ?? Buffer.alloc(0) }],
      },
    ]);
  }
  if (first.attrs.stage === "companion_finish") {
    reply();
    const bundle = child("link_code_pairing_wrapped_key_bundle");
    if (bundle) void conn.pairCode?.finish?.(bundle);
    return;
  }
  reply();
}

function onEncrypt(
  conn: Connection,
  node: BinaryNode,
  first: BinaryNode | undefined,
  reply: (c?: BinaryNode[]) => void,
): void {
  const d = conn.device;
  if (first?.tag === "count") return reply([{ tag: "count", attrs: { value: String(d ? remainingPreKeys(d) : 0) } }]);
  if (first?.tag === "digest") return reply([{ tag: "digest", attrs: {} }]);
  if (first?.tag === "key") {
    const users = getBinaryNodeChildren(first, "user").map((u) => u.attrs.jid);
    return reply([{ tag: "list", attrs: {}, content: users.flatMap((jid) => bundleNode(conn, jid)) }]);
  }
  if (first?.tag === "rotate" && d) {
    const skey = getBinaryNodeChild(first, "skey");
    if (skey) d.signedPreKey = readSignedPreKey(skey);
    return reply();
  }
  if (node.attrs.type === "set" && d) {
    // a pre-key upload replaces what is left: the client uploads when our count runs low
    const keys = getBinaryNodeChildren(getBinaryNodeChild(node, "list"), "key");
    const packed = Buffer.alloc(keys.length * PRE_KEY_RECORD);
    keys.forEach((k, i) => {
      packed.writeUIntBE(getBinaryNodeChildUInt(k, "id", 3) ?? 0, i * PRE_KEY_RECORD, 3);
      packed.set(getBinaryNodeChildBuffer(k, "value") ?? Buffer.alloc(32), i * PRE_KEY_RECORD + 3);
    });
    d.preKeys = Buffer.concat([d.preKeys.subarray(d.preKeyCursor), packed]);
    d.preKeyCursor = 0;
    const identity = getBinaryNodeChildBuffer(node, "identity");
    if (identity) d.identityPub = own(identity);
    const skey = getBinaryNodeChild(node, "skey");
    if (skey) d.signedPreKey = readSignedPreKey(skey);
    return reply();
  }
  reply();
}

function readSignedPreKey(skey: BinaryNode) {
  return {
    keyId: getBinaryNodeChildUInt(skey, "id", 3) ?? 0,
    publicKey: own(getBinaryNodeChildBuffer(skey, "value") ?? new Uint8Array()),
    signature: own(getBinaryNodeChildBuffer(skey, "signature") ?? new Uint8Array()),
  };
}

/** The pre-key bundle of one device: a phone's own (device 0) or an uploaded companion's. */
function bundleNode(conn: Connection, jid: string): BinaryNode[] {
  const decoded = jidDecode(jid);
  const phone = decoded ? conn.sim.state.resolveUser(decoded.user) : undefined;
  if (!decoded || !phone) return [];
  const device = decoded.device ?? 0;
  let bundle: PreKeyBundle | undefined;
  if (device === 0) bundle = phone.signal.takeBundle();
  else {
    const companion = phone.devices.get(device);
    if (companion) bundle = takeDeviceBundle(companion);
  }
  if (!bundle) return [];
  const content: BinaryNode[] = [
    { tag: "registration", attrs: {}, content: encodeBigEndian(bundle.registrationId) },
    { tag: "type", attrs: {}, content: Buffer.from([5]) },
    { tag: "identity", attrs: {}, content: bundle.identityKey },
    {
      tag: "skey",
      attrs: {},
      content: [
        { tag: "id", attrs: {}, content: encodeBigEndian(bundle.signedPreKey.keyId, 3) },
        { tag: "value", attrs: {}, content: bundle.signedPreKey.publicKey },
        { tag: "signature", attrs: {}, content: bundle.signedPreKey.signature },
      ],
    },
  ];
  if (bundle.preKey) {
    content.push({
      tag: "key",
      attrs: {},
      content: [
        { tag: "id", attrs: {}, content: encodeBigEndian(bundle.preKey.keyId, 3) },
        { tag: "value", attrs: {}, content: bundle.preKey.publicKey },
      ],
    });
  }
  return [{ tag: "user", attrs: { jid }, content }];
}
