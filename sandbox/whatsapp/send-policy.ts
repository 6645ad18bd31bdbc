// What the server decides about a message a companion sends, before it fans it out: accepted
// (plain ack), or refused with an error ack and not delivered, as WhatsApp answers with
// `<ack class="message" id error="…">` after `sendMessage` has already resolved on the client.
import type { BinaryNode } from "@whiskeysockets/baileys";
import { carriesValidToken, oneToOneRecipient } from "./privacy-tokens";
import type { Sim } from "./sim";
import type { LinkedDevice } from "./state";

/** The error code the server acks this message with, or undefined to accept it. */
export function refusal(sim: Sim, device: LinkedDevice, node: BinaryNode): string | undefined {
  const nack = takeNack(sim, device.phone);
  if (nack) return nack;
  // a locked account may still write where the contact trusts it (a valid token), nowhere else
  const recipient = oneToOneRecipient(sim, device, node);
  if (
    recipient &&
    sim.state.phones.get(device.phone)?.reachout === "locked" &&
    !carriesValidToken(device, recipient, node)
  )
    return "463";
  return undefined;
}

/** A `nack` fault armed for this number (or for every number): spends one of its count. */
function takeNack(sim: Sim, phone: string): string | undefined {
  for (const key of [phone, "*"]) {
    const fault = sim.state.nackFaults.get(key);
    if (!fault) continue;
    if (--fault.remaining <= 0) sim.state.nackFaults.delete(key);
    return fault.code;
  }
  return undefined;
}
