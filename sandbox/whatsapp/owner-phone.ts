// The account owner typing on the phone itself: the contact's phone gets the message, and every
// companion of the owner gets the device-sent copy, encrypted from the phone's own device 0
// identity. WhatsApp routes that copy `from` the owner's phone jid with `recipient` = the chat,
// so Baileys shows it with key.fromMe = true and remoteJid = the contact.
import { proto } from "@whiskeysockets/baileys";
import { deliverOrQueue } from "./delivery";
import { composeMessage, deliverToAccount, encryptFor, type PhoneMessageInput } from "./inbound-messages";
import { toInboxEntry } from "./outbound-messages";
import { type Sim, unixNow } from "./sim";
import { type Phone, rememberForResend } from "./state";

export async function sendFromOwnerPhone(
  sim: Sim,
  owner: Phone,
  to: Phone,
  content: PhoneMessageInput,
): Promise<{ id: string; devices: number; mediaPath?: string }> {
  const m = await composeMessage(sim, content);
  const chatJid = contactJid(to);
  // the contact's phone: decrypted there, as the simulator files what contacts receive
  to.inbox.set(
    m.id,
    await toInboxEntry(
      sim,
      m.id,
      { phone: owner.phone, deviceJid: `${owner.phone}@s.whatsapp.net` },
      chatJid,
      m.message,
    ),
  );
  // the contact's own companions, if it has linked any, get it as from any other contact
  let devices = await deliverToAccount(sim, owner, to, m, content.asLid);
  const sent: proto.IMessage = { deviceSentMessage: { destinationJid: chatJid, message: m.message } };
  for (const d of owner.devices.values()) {
    const enc = await encryptFor(owner, d, sent, m.mediatype);
    if (!enc) continue;
    const attrs = { from: `${owner.phone}@s.whatsapp.net`, recipient: chatJid, id: m.id, t: unixNow(), type: m.type };
    rememberForResend(owner, d.phone, attrs, sent, m.mediatype);
    deliverOrQueue(d, { tag: "message", attrs, content: [enc] });
    devices++;
  }
  return { id: m.id, devices, ...(m.mediaPath ? { mediaPath: m.mediaPath } : {}) };
}

/** How the owner's phone addresses the contact: by phone number unless the contact hides it. */
function contactJid(p: Phone): string {
  return p.hidePhone ? `${p.lid}@lid` : `${p.phone}@s.whatsapp.net`;
}
