// A contact's phone that cannot decrypt a companion's copy answers as a real phone does: a
// `<receipt type="retry">` naming the message, with its registration id, and from the second
// attempt on a fresh pre-key bundle (`<keys>`) so the companion can start a new session. The
// companion re-encrypts from its stored copy (rc14: recent-message cache or `getMessage`) or not
// at all, in which case the phone never shows the message.
import { type BinaryNode, encodeBigEndian } from "@whiskeysockets/baileys";
import { deliverOrQueue } from "./delivery";
import { unixNow } from "./sim";
import type { LinkedDevice, Phone } from "./state";

/** An armed `undecryptable` fault on this phone: spends one and answers true. */
export function failsToDecrypt(phone: Phone): boolean {
  if (phone.failDecrypts <= 0) return false;
  phone.failDecrypts--;
  return true;
}

/** The phone asks the sending companion to send message `node` again. */
export function askForRetry(phone: Phone, device: LinkedDevice, node: BinaryNode): void {
  const { id, to, t } = node.attrs;
  const key = `${device.phone}:${device.id}:${id}`;
  const count = (phone.retriesAsked.get(key) ?? 0) + 1;
  phone.retriesAsked.set(key, count);
  const content: BinaryNode[] = [
    { tag: "retry", attrs: { count: String(count), id, t: t ?? unixNow(), v: "1", error: "0" } },
    { tag: "registration", attrs: {}, content: encodeBigEndian(phone.signal.registrationId) },
  ];
  if (count > 1) content.push(keysNode(phone));
  // `from` as the companion addressed the phone (PN or LID), so rc14 finds its cached copy by it
  deliverOrQueue(device, { tag: "receipt", attrs: { from: to, id, type: "retry", t: unixNow() }, content });
}

/** The phone decrypted a (re)sent copy: it stops asking for that message. */
export function retrySettled(phone: Phone, device: LinkedDevice, id: string): void {
  if (phone.retriesAsked.size) phone.retriesAsked.delete(`${device.phone}:${device.id}:${id}`);
}

function keysNode(phone: Phone): BinaryNode {
  const b = phone.signal.takeBundle();
  const content: BinaryNode[] = [
    { tag: "type", attrs: {}, content: Buffer.from([5]) },
    { tag: "identity", attrs: {}, content: b.identityKey },
  ];
  if (b.preKey) {
    content.push({
      tag: "key",
      attrs: {},
      content: [
        { tag: "id", attrs: {}, content: encodeBigEndian(b.preKey.keyId, 3) },
        { tag: "value", attrs: {}, content: b.preKey.publicKey },
      ],
    });
  }
  content.push({
    tag: "skey",
    attrs: {},
    content: [
      { tag: "id", attrs: {}, content: encodeBigEndian(b.signedPreKey.keyId, 3) },
      { tag: "value", attrs: {}, content: b.signedPreKey.publicKey },
      { tag: "signature", attrs: {}, content: b.signedPreKey.signature },
    ],
  });
  return { tag: "keys", attrs: {}, content };
}
