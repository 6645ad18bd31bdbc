// Device and account lookups (usync). Baileys 7 resolves every contact to its LID and fetches
// pre-keys by LID, so each answer carries the `<lid>` as well as the device list.
import { type BinaryNode, getBinaryNodeChild, getBinaryNodeChildren, jidDecode } from "@whiskeysockets/baileys";
import type { Sim } from "./sim";
import type { Phone } from "./state";

export function answerUsync(sim: Sim, iq: BinaryNode): BinaryNode[] {
  const usync = getBinaryNodeChild(iq, "usync");
  const query = getBinaryNodeChild(usync, "query");
  const wants = (tag: string) => !!getBinaryNodeChild(query, tag);
  const users = getBinaryNodeChildren(getBinaryNodeChild(usync, "list"), "user");
  const list = users.map((u): BinaryNode => {
    const contactNode = getBinaryNodeChild(u, "contact");
    const asked = contactNode?.content ? String(Buffer.from(contactNode.content as Uint8Array)) : "";
    const jid = u.attrs.jid ?? `${asked.replace(/[^0-9]/g, "")}@s.whatsapp.net`;
    const phone = sim.state.resolveUser(jidDecode(jid)?.user ?? "");
    const content: BinaryNode[] = [];
    if (wants("contact")) content.push({ tag: "contact", attrs: { type: phone && !phone.banned ? "in" : "out" } });
    // a user asked for by LID already is one: the mapping is only news for a phone number
    if (phone && wants("lid") && !jid.endsWith("@lid"))
      content.push({ tag: "lid", attrs: { val: `${phone.lid}@lid` } });
    if (phone && wants("devices")) content.push(devicesNode(phone));
    if (phone && wants("status"))
      content.push({ tag: "status", attrs: { t: "0" }, content: Buffer.from("Hey there! I am using WhatsApp.") });
    if (wants("disappearing_mode")) content.push({ tag: "disappearing_mode", attrs: { duration: "0", t: "0" } });
    return { tag: "user", attrs: { jid }, content };
  });
  return [
    {
      tag: "usync",
      attrs: {},
      content: [
        { tag: "result", attrs: {} },
        { tag: "list", attrs: {}, content: list },
      ],
    },
  ];
}

function devicesNode(phone: Phone): BinaryNode {
  // the phone itself (0) and every companion that has uploaded keys, each with its key index
  const devices: BinaryNode[] = [{ tag: "device", attrs: { id: "0" } }];
  for (const d of phone.devices.values()) {
    if (d.preKeys.length > 0) devices.push({ tag: "device", attrs: { id: String(d.id), "key-index": String(d.id) } });
  }
  return { tag: "devices", attrs: {}, content: [{ tag: "device-list", attrs: {}, content: devices }] };
}
