// A companion that cannot decrypt what a phone sent it answers `<receipt type="retry">`, and the
// phone sends the message again, as WhatsApp phones do (whatsmeow's handleRetryReceipt, Baileys'
// own sendMessagesAgain): re-encrypted under the same id, and, when the receipt carries `<keys>`
// (rc14 adds them from the second attempt on), from a fresh session built on that bundle, so a
// companion whose Signal session went out of step heals. The phone gives up after MAX_RESENDS
// per message and companion; a message it no longer keeps (MAX_RESENDABLE) is not resent.
import { type BinaryNode, getBinaryNodeChild, jidDecode } from "@whiskeysockets/baileys";
import { deliverOrQueue } from "./delivery";
import { encryptFor } from "./inbound-messages";
import type { PreKeyBundle } from "./signal-account";
import type { Sim } from "./sim";
import type { LinkedDevice } from "./state";

/** rc14 stops asking after 5 retries (maxMsgRetryCount); a phone answers at most as many. */
export const MAX_RESENDS = 5;

export type RetryOutcome = "resent" | "unknown-sender" | "not-kept" | "gave-up";

/** A companion's retry receipt for something a simulated phone sent it. */
export async function answerCompanionRetry(sim: Sim, device: LinkedDevice, node: BinaryNode): Promise<RetryOutcome> {
  const { id, to } = node.attrs;
  const target = to ? jidDecode(to) : undefined;
  const phone = target ? sim.state.resolveUser(target.user) : undefined;
  if (!phone || !id) return "unknown-sender";
  const kept = phone.resendable.get(`${device.phone}:${id}`);
  if (!kept) return "not-kept";
  const n = (kept.resent.get(device.id) ?? 0) + 1;
  if (n > MAX_RESENDS) return "gave-up";
  kept.resent.set(device.id, n);
  if (phone.resendDelayMs) await new Promise((r) => setTimeout(r, phone.resendDelayMs));
  const peer = { user: device.phone, device: device.id };
  const bundle = bundleOf(node, device);
  if (bundle) {
    // the companion sent its keys: whatever session the phone had with it is dropped for a new one
    const addr = `${peer.user}.${peer.device}`;
    phone.signal.forgetSessions((k) => k === addr);
    await phone.signal.startSession(peer, bundle);
  }
  const enc = await encryptFor(phone, device, kept.message, kept.mediatype);
  if (!enc) return "not-kept";
  const retry = getBinaryNodeChild(node, "retry");
  enc.attrs.count = retry?.attrs.count ?? String(n);
  deliverOrQueue(device, { tag: "message", attrs: { ...kept.attrs }, content: [enc] });
  return "resent";
}

/** The pre-key bundle a retry receipt carries (`<registration>` + `<keys>`), if any. */
function bundleOf(node: BinaryNode, device: LinkedDevice): PreKeyBundle | undefined {
  const keys = getBinaryNodeChild(node, "keys");
  if (!keys) return undefined;
  const bytes = (n: BinaryNode | undefined) => (n?.content instanceof Uint8Array ? Buffer.from(n.content) : undefined);
  const identity = bytes(getBinaryNodeChild(keys, "identity"));
  const skey = getBinaryNodeChild(keys, "skey");
  const skeyId = bytes(getBinaryNodeChild(skey, "id"));
  const skeyValue = bytes(getBinaryNodeChild(skey, "value"));
  const skeySig = bytes(getBinaryNodeChild(skey, "signature"));
  if (!identity || !skeyId || !skeyValue || !skeySig) return undefined;
  const key = getBinaryNodeChild(keys, "key");
  const keyId = bytes(getBinaryNodeChild(key, "id"));
  const keyValue = bytes(getBinaryNodeChild(key, "value"));
  const registration = bytes(getBinaryNodeChild(node, "registration"));
  return {
    registrationId: registration ? registration.readUIntBE(0, registration.length) : device.registrationId,
    identityKey: identity,
    signedPreKey: { keyId: skeyId.readUIntBE(0, skeyId.length), publicKey: skeyValue, signature: skeySig },
    ...(keyId && keyValue ? { preKey: { keyId: keyId.readUIntBE(0, keyId.length), publicKey: keyValue } } : {}),
  };
}
