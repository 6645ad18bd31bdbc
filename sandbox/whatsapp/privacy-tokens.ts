// Trusted-contact ("privacy") tokens. When a contact first writes to an account, WhatsApp hands
// the account's companions that contact's token in a `privacy_token` notification; the companion
// attaches it (`<tctoken>`) to its 1:1 messages to that contact. An account that may not reach
// out has such messages without a valid token refused with error 463. Companions also issue
// their own token to contacts (a fire-and-forget `privacy` IQ), which the simulator counts.

import { randomBytes } from "node:crypto";
import {
  type BinaryNode,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  isLidUser,
  isPnUser,
  jidDecode,
} from "@whiskeysockets/baileys";
import { deliverOrQueue } from "./delivery";
import { type Sim, unixNow } from "./sim";
import { deviceJid, type LinkedDevice, type Phone } from "./state";

let notificationSeq = 0;

/** Before a phone's first message to an account: its token goes to each of the account's companions. */
export function giveTokenOnFirstContact(from: Phone, account: Phone, fromJid: string): void {
  // an account without companions has nobody to hand it to (history sync is not imitated)
  if (from.tokensGiven.has(account.phone) || from.phone === account.phone || account.devices.size === 0) return;
  const token = randomBytes(20);
  from.tokensGiven.set(account.phone, token);
  const t = unixNow();
  for (const d of account.devices.values()) {
    deliverOrQueue(d, {
      tag: "notification",
      // sender_lid names the contact by LID, which is where Baileys stores the token
      attrs: {
        from: fromJid,
        sender_lid: `${from.lid}@lid`,
        type: "privacy_token",
        id: `pt-${(++notificationSeq).toString(36)}`,
        t,
      },
      content: [
        {
          tag: "tokens",
          attrs: {},
          // in a notification the token's jid is the receiving device, not the contact
          content: [{ tag: "token", attrs: { jid: deviceJid(d), t, type: "trusted_contact" }, content: token }],
        },
      ],
    });
  }
}

/** The 1:1 recipient of a companion's stanza, or undefined (group, broadcast, its own number…). */
export function oneToOneRecipient(sim: Sim, device: LinkedDevice, node: BinaryNode): Phone | undefined {
  const to = node.attrs.to ?? "";
  if (!isPnUser(to) && !isLidUser(to)) return undefined;
  const phone = sim.state.resolveUser(jidDecode(to)?.user ?? "");
  return phone && phone.phone !== device.phone ? phone : undefined;
}

/** Whether the stanza carries the token `recipient` gave the sender's account. */
export function carriesValidToken(device: LinkedDevice, recipient: Phone, node: BinaryNode): boolean {
  const given = recipient.tokensGiven.get(device.phone);
  const carried = getBinaryNodeChild(node, "tctoken")?.content;
  return !!given && carried instanceof Uint8Array && given.equals(carried);
}

/** The companion's `privacy` set IQ issuing its own token to contacts: counted per contact. */
export function countIssuance(sim: Sim, device: LinkedDevice | undefined, iq: BinaryNode): void {
  if (!device) return;
  for (const t of getBinaryNodeChildren(getBinaryNodeChild(iq, "tokens"), "token")) {
    if (t.attrs.type !== "trusted_contact") continue;
    const contact = sim.state.resolveUser(jidDecode(t.attrs.jid)?.user ?? "");
    if (!contact) continue;
    device.tctokenIssuances ??= new Map();
    device.tctokenIssuances.set(contact.phone, (device.tctokenIssuances.get(contact.phone) ?? 0) + 1);
  }
}
