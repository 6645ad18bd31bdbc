// Groups as WhatsApp keeps them: an id under @g.us, a subject, members (phones; a linked number is
// one of them through its phone) and an addressing mode. Members' messages and companions' sends
// are fanned out with sender keys (group-messages.ts); this file answers the `w:g2` queries rc14
// makes (groupMetadata before every group send, groupFetchAllParticipating) the way WhatsApp does.
import { type BinaryNode, getBinaryNodeChild, jidDecode } from "@whiskeysockets/baileys";
import type { Connection } from "./connection";
import { deliverOrQueue } from "./delivery";
import { type Sim, unixNow } from "./sim";
import type { InboxMedia, Phone } from "./state";

export type AddressingMode = "lid" | "pn";

/** What the group's members received, in order (the server's view, as a member's phone shows it). */
export interface GroupMessage {
  id: string;
  from: string; // the sender's phone number
  fromDevice: string; // the device that sent it (a phone's own device 0 or a companion)
  text?: string;
  media?: InboxMedia;
  messageType: string;
  at: string;
}

export interface Group {
  /** the user part of the jid: 18 digits starting 120363, as WhatsApp's group ids */
  id: string;
  jid: string;
  subject: string;
  creator: string;
  creation: string;
  addressingMode: AddressingMode;
  /** member phones, the creator first (an admin) */
  members: string[];
  messages: GroupMessage[];
}

/** A group log keeps this many messages (the newest); enough for any test, bounded for benchmarks. */
export const MAX_GROUP_LOG = 5_000;

let groupSeq = 0;

export function createGroup(
  sim: Sim,
  subject: string,
  members: Phone[],
  addressingMode: AddressingMode = "lid",
): Group {
  const id = `120363${String(Date.now() % 1e9).padStart(9, "0")}${String(++groupSeq % 1000).padStart(3, "0")}`;
  const phones = [...new Set(members.map((m) => m.phone))];
  const g: Group = {
    id,
    jid: `${id}@g.us`,
    subject,
    creator: phones[0],
    creation: unixNow(),
    addressingMode,
    members: phones,
    messages: [],
  };
  sim.state.groups.set(id, g);
  return g;
}

let notificationSeq = 0;

/**
 * Members added or removed by the group's creator (an admin), as WhatsApp tells the companions of
 * every member, the removed ones included: `<notification type="w:gp2"><add|remove><participant
 * jid phone_number?/>…`. rc14 turns it into a stub message and `group-participants.update`.
 */
export function changeMembers(sim: Sim, g: Group, change: { add?: Phone[]; remove?: Phone[] }): void {
  const admin = sim.state.phones.get(g.creator);
  const told = new Set(g.members);
  for (const [tag, phones] of [
    ["add", change.add ?? []],
    ["remove", change.remove ?? []],
  ] as const) {
    const affected = phones.filter((p) => (tag === "add" ? !g.members.includes(p.phone) : g.members.includes(p.phone)));
    if (affected.length === 0) continue;
    if (tag === "add") g.members.push(...affected.map((p) => p.phone));
    else g.members = g.members.filter((m) => !affected.some((p) => p.phone === m));
    for (const p of affected) told.add(p.phone);
    const content: BinaryNode[] = [
      { tag, attrs: {}, content: affected.map((p) => ({ tag: "participant", attrs: memberAttrs(g, p) })) },
    ];
    const attrs = {
      from: g.jid,
      type: "w:gp2",
      id: `gp2-${(++notificationSeq).toString(36)}`,
      t: unixNow(),
      ...(admin ? { participant: memberJid(g, admin) } : {}),
    };
    for (const phone of told)
      for (const d of sim.state.phones.get(phone)?.devices.values() ?? [])
        deliverOrQueue(d, { tag: "notification", attrs, content });
  }
}

/** A group by its jid or its bare id. */
export function findGroup(sim: Sim, idOrJid: string): Group | undefined {
  return sim.state.groups.get(decodeURIComponent(idOrJid).split("@")[0]);
}

export function logGroupMessage(g: Group, m: GroupMessage): void {
  g.messages.push(m);
  if (g.messages.length > MAX_GROUP_LOG) g.messages.splice(0, g.messages.length - MAX_GROUP_LOG);
}

/**
 * How a member is named inside a group's stanzas: by LID in a LID-addressed group (its phone
 * beside it as participant_pn, unless it shares only its LID), by phone number otherwise.
 * `device` > 0 names one of the member's companions.
 */
export function participantAttrs(g: Group, p: Phone, device = 0): Record<string, string> {
  const dev = device ? `:${device}` : "";
  if (g.addressingMode === "pn" && !p.hidePhone)
    return { participant: `${p.phone}${dev}@s.whatsapp.net`, addressing_mode: "pn" };
  return {
    participant: `${p.lid}${dev}@lid`,
    addressing_mode: "lid",
    ...(p.hidePhone ? {} : { participant_pn: `${p.phone}${dev}@s.whatsapp.net` }),
  };
}

/**
 * `<iq xmlns="w:g2">`: the metadata of one group (`<query request="interactive"/>` to its jid) or
 * of every group the account is in (`<participating/>` to `@g.us`). An account outside the group
 * gets 403, an unknown group 404, as WhatsApp answers them.
 */
export function answerGroupIq(conn: Connection, node: BinaryNode): void {
  const { id, to } = node.attrs;
  const phone = conn.device ? conn.sim.state.phones.get(conn.device.phone) : undefined;
  const result = (content: BinaryNode[]) =>
    conn.send({ tag: "iq", attrs: { from: to ?? "@g.us", type: "result", id }, content });
  const error = (code: string, text: string) =>
    conn.send({
      tag: "iq",
      attrs: { from: to ?? "@g.us", type: "error", id },
      content: [{ tag: "error", attrs: { code, text } }],
    });
  if (!phone) return error("401", "not-authorized");
  if (getBinaryNodeChild(node, "participating")) {
    const mine = [...conn.sim.state.groups.values()].filter((g) => g.members.includes(phone.phone));
    return result([{ tag: "groups", attrs: {}, content: mine.map((g) => groupNode(conn.sim, g)) }]);
  }
  if (node.attrs.type !== "get" || !getBinaryNodeChild(node, "query")) {
    // creating groups, changing subjects or members from the client is not imitated
    return error("501", "feature-not-implemented");
  }
  const g = to ? conn.sim.state.groups.get(jidDecode(to)?.user ?? "") : undefined;
  if (!g) return error("404", "item-not-found");
  if (!g.members.includes(phone.phone)) return error("403", "forbidden");
  result([groupNode(conn.sim, g)]);
}

/** The `<group>` node WhatsApp answers with: LID groups list members by LID with phone_number. */
export function groupNode(sim: Sim, g: Group): BinaryNode {
  const creator = sim.state.phones.get(g.creator);
  const creatorId = creator ? memberJid(g, creator) : `${g.creator}@s.whatsapp.net`;
  const participants: BinaryNode[] = [];
  for (const phone of g.members) {
    const p = sim.state.phones.get(phone);
    if (!p) continue;
    const attrs = memberAttrs(g, p);
    if (phone === g.creator) attrs.type = "superadmin";
    participants.push({ tag: "participant", attrs });
  }
  return {
    tag: "group",
    attrs: {
      id: g.id,
      subject: g.subject,
      s_t: g.creation,
      s_o: creatorId,
      creation: g.creation,
      creator: creatorId,
      size: String(participants.length),
      addressing_mode: g.addressingMode,
      ...(creator && g.addressingMode === "lid" && !creator.hidePhone
        ? { creator_pn: `${creator.phone}@s.whatsapp.net`, s_o_pn: `${creator.phone}@s.whatsapp.net` }
        : {}),
    },
    content: participants,
  };
}

export function groupView(sim: Sim, g: Group) {
  return {
    id: g.jid,
    subject: g.subject,
    addressingMode: g.addressingMode,
    creation: Number(g.creation),
    members: g.members.map((phone) => {
      const p = sim.state.phones.get(phone);
      return {
        phone,
        lid: p ? `${p.lid}@lid` : null,
        name: p?.name ?? null,
        admin: phone === g.creator,
        linkedDevices: p?.devices.size ?? 0,
      };
    }),
    messages: g.messages.length,
  };
}

function memberAttrs(g: Group, p: Phone): Record<string, string> {
  const attrs: Record<string, string> = { jid: memberJid(g, p) };
  if (g.addressingMode === "lid" && !p.hidePhone) attrs.phone_number = `${p.phone}@s.whatsapp.net`;
  if (g.addressingMode === "pn") attrs.lid = `${p.lid}@lid`;
  return attrs;
}

function memberJid(g: Group, p: Phone): string {
  return g.addressingMode === "pn" && !p.hidePhone ? `${p.phone}@s.whatsapp.net` : `${p.lid}@lid`;
}
