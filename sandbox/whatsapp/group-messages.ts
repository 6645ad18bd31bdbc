// Group messages with sender keys, both ways, as WhatsApp carries them.
//
// A member's phone writes: one sender-key ciphertext (`skmsg`) of the message for the whole group;
// each companion of a member that has not had this phone's key for the group also gets a pairwise
// `pkmsg`/`msg` carrying the `senderKeyDistributionMessage`, before the skmsg in the same stanza.
// rc14 processes the distribution message, then decrypts the skmsg with it (decode-wa-message.js).
//
// A companion writes (rc14's relayMessage): it has asked the group's metadata and its members'
// devices, and sends one stanza to the group jid with the skmsg and, in `<participants>`, a
// pairwise enc with its key for each device that lacks it. Each member's phone takes the key,
// decrypts the skmsg and files the message; every other companion of every member gets the skmsg
// (with its own pairwise enc, when there is one), as the server fans it out.
import {
  type BinaryNode,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  jidDecode,
  proto,
  unpadRandomMax16,
  writeRandomPadMax16,
} from "@whiskeysockets/baileys";
import {
  GroupCipher,
  GroupSessionBuilder,
  SenderKeyDistributionMessage,
  SenderKeyName,
  SenderKeyRecord,
} from "@whiskeysockets/baileys/lib/Signal/Group/index.js";
import { ProtocolAddress } from "libsignal";
import { deliverOrQueue } from "./delivery";
import { findGroup, type Group, logGroupMessage, participantAttrs } from "./groups";
import { composeMessage, encryptFor, type PhoneMessageInput } from "./inbound-messages";
import { toInboxEntry } from "./outbound-messages";
import { type Sim, unixNow } from "./sim";
import { deviceJid, type InboxEntry, type LinkedDevice, type Phone } from "./state";

/** A member's phone writes to the group: every other member's phone and every companion of a member gets it. */
export async function sendFromMember(
  sim: Sim,
  g: Group,
  from: Phone,
  content: PhoneMessageInput,
): Promise<{ id: string; devices: number; mediaPath?: string }> {
  const m = await composeMessage(sim, content);
  const store = senderKeyStore(from);
  const name = senderKeyName(g, from.phone, 0);
  const skdm = (await new GroupSessionBuilder(store).create(name)).serialize();
  const skmsg = await new GroupCipher(store, name).encrypt(
    writeRandomPadMax16(proto.Message.encode(m.message).finish()),
  );
  const entry = await toInboxEntry(
    sim,
    m.id,
    { phone: from.phone, deviceJid: `${from.phone}@s.whatsapp.net` },
    g.jid,
    m.message,
  );
  const given = (from.senderKeyGiven ??= new Set());
  const media: Record<string, string> = m.mediatype ? { mediatype: m.mediatype } : {};
  let devices = 0;
  for (const member of members(sim, g)) {
    if (member !== from) member.inbox.set(m.id, { ...entry });
    for (const d of member.devices.values()) {
      if (d.preKeys.length === 0) continue; // linked but never logged in: nothing to encrypt to
      const nodes: BinaryNode[] = [];
      const key = `${g.jid}|${deviceJid(d)}`;
      if (!given.has(key)) {
        const enc = await encryptFor(
          from,
          d,
          { senderKeyDistributionMessage: { groupId: g.jid, axolotlSenderKeyDistributionMessage: skdm } },
          m.mediatype,
        );
        if (!enc) continue;
        nodes.push(enc);
        given.add(key);
      }
      nodes.push({ tag: "enc", attrs: { v: "2", type: "skmsg", ...media }, content: skmsg });
      deliverOrQueue(d, {
        tag: "message",
        attrs: { from: g.jid, ...participantAttrs(g, from), id: m.id, t: unixNow(), type: m.type, notify: from.name },
        content: nodes,
      });
      devices++;
    }
  }
  logGroupMessage(g, groupMessageOf(entry));
  return { id: m.id, devices, ...(m.mediaPath ? { mediaPath: m.mediaPath } : {}) };
}

/** A companion's stanza to a group jid (already acked by the caller). */
export async function relayCompanionGroupMessage(sim: Sim, device: LinkedDevice, node: BinaryNode): Promise<void> {
  const { id, to } = node.attrs;
  const g = to ? findGroup(sim, to) : undefined;
  const sender = sim.state.phones.get(device.phone);
  // a non-member never gets this far: its metadata query was refused (403) and rc14 did not send
  if (!g || !sender || !g.members.includes(sender.phone) || !id) return;
  const name = senderKeyName(g, device.phone, device.id);
  const pairwise = new Map<string, BinaryNode>(); // another companion's jid → the enc addressed to it
  for (const to of getBinaryNodeChildren(getBinaryNodeChild(node, "participants"), "to")) {
    const enc = getBinaryNodeChild(to, "enc");
    const target = jidDecode(to.attrs.jid);
    const phone = target ? sim.state.resolveUser(target.user) : undefined;
    if (!enc || !(enc.content instanceof Uint8Array) || !phone) continue;
    const dev = target?.device ?? 0;
    if (dev !== 0) {
      const companion = phone.devices.get(dev);
      if (companion && companion !== device) pairwise.set(deviceJid(companion), enc);
      continue;
    }
    // a member's phone: the pairwise message carries the companion's sender key for the group
    let message: proto.IMessage;
    try {
      message = proto.Message.decode(
        unpadRandomMax16(
          await phone.signal.decrypt({ user: device.phone, device: device.id }, enc.attrs.type, enc.content),
        ),
      );
    } catch {
      continue; // this phone cannot read the key, so not the message either (no group retries here)
    }
    const skd = (message.deviceSentMessage?.message ?? message).senderKeyDistributionMessage;
    if (skd?.axolotlSenderKeyDistributionMessage) {
      const dist = new SenderKeyDistributionMessage(null, null, null, null, skd.axolotlSenderKeyDistributionMessage);
      await new GroupSessionBuilder(senderKeyStore(phone)).process(name, dist);
    }
  }
  const skmsg = (Array.isArray(node.content) ? node.content : []).find(
    (c) => c.tag === "enc" && c.attrs.type === "skmsg",
  );
  if (!skmsg || !(skmsg.content instanceof Uint8Array)) return;
  let logged: InboxEntry | undefined;
  for (const member of members(sim, g)) {
    if (member === sender || member.inbox.has(id)) continue;
    let message: proto.IMessage;
    try {
      message = proto.Message.decode(
        unpadRandomMax16(await new GroupCipher(senderKeyStore(member), name).decrypt(skmsg.content)),
      );
    } catch {
      continue; // no key from this companion: the phone cannot read it
    }
    const entry = await toInboxEntry(sim, id, { phone: device.phone, deviceJid: deviceJid(device) }, g.jid, message);
    member.inbox.set(id, entry);
    logged ??= entry;
  }
  for (const member of members(sim, g)) {
    for (const d of member.devices.values()) {
      if (d === device) continue;
      const enc = pairwise.get(deviceJid(d));
      deliverOrQueue(d, {
        tag: "message",
        attrs: {
          from: g.jid,
          ...participantAttrs(g, sender, device.id),
          id,
          t: unixNow(),
          type: node.attrs.type ?? "text",
          notify: sender.name,
        },
        content: [...(enc ? [enc] : []), skmsg],
      });
    }
  }
  if (logged) logGroupMessage(g, groupMessageOf(logged));
}

function members(sim: Sim, g: Group): Phone[] {
  return g.members.map((p) => sim.state.phones.get(p)).filter((p): p is Phone => !!p);
}

function senderKeyName(g: Group, user: string, device: number): SenderKeyName {
  return new SenderKeyName(g.jid, new ProtocolAddress(user, device));
}

/** The sender keys one phone holds, in memory, under the names this simulator gives them. */
function senderKeyStore(p: Phone) {
  const keys = (p.senderKeys ??= new Map());
  return {
    async loadSenderKey(name: SenderKeyName): Promise<SenderKeyRecord> {
      return keys.get(name.toString()) ?? new SenderKeyRecord();
    },
    async storeSenderKey(name: SenderKeyName, record: SenderKeyRecord): Promise<void> {
      keys.set(name.toString(), record);
    },
  };
}

function groupMessageOf(e: InboxEntry) {
  const { id, from, fromDevice, text, media, messageType, at } = e;
  return {
    id,
    from,
    fromDevice,
    ...(text !== undefined ? { text } : {}),
    ...(media ? { media } : {}),
    messageType,
    at,
  };
}
