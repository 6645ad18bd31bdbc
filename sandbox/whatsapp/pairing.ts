// Linking a companion: a simulated phone scans the QR or enters the pairing code, and the server
// sends `pair-success` with an ADV device identity the phone signed, exactly what Baileys checks
// in Utils/validate-connection.js (configureSuccessfulPairing).

import { randomBytes, randomInt } from "node:crypto";
import {
  aesDecryptCTR,
  aesDecryptGCM,
  aesEncryptCTR,
  type BinaryNode,
  Curve,
  derivePairingCodeKey,
  hkdf,
  hmacSign,
  proto,
} from "@whiskeysockets/baileys";
import type { Connection } from "./connection";
import { newKeyPair } from "./server-identity";
import { S_WHATSAPP_NET, type Sim, unixNow } from "./sim";
import type { LinkedDevice, Phone } from "./state";

export class PairingError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The phone scans `https://wa.me/settings/linked_devices#ref,noise,identity,adv,platform`. */
export function scanQr(sim: Sim, phone: Phone, qr: string): LinkedDevice {
  const [ref, noiseB64, identityB64, advB64] = qr.slice(qr.indexOf("#") + 1).split(",");
  const conn = ref ? sim.pendingRefs.get(ref) : undefined;
  const reg = conn?.registration;
  if (!conn || !reg || conn.closed)
    throw new PairingError(404, "no socket is showing this QR (expired or already used)");
  if (
    !reg.noisePub.equals(Buffer.from(noiseB64 ?? "", "base64")) ||
    !reg.identityPub.equals(Buffer.from(identityB64 ?? "", "base64"))
  ) {
    throw new PairingError(400, "QR keys do not match the socket that received this ref");
  }
  for (const r of reg.refs) sim.pendingRefs.delete(r);
  return sendPairSuccess(conn, phone, Buffer.from(advB64 ?? "", "base64"));
}

/** The client's `companion_hello`: it shows a code and waits for the phone to type it in. */
export function onCompanionHello(conn: Connection, reg: BinaryNode, child: (tag: string) => Buffer | undefined): void {
  const phone = (reg.attrs.jid ?? "").split("@")[0];
  const wrapped = child("link_code_pairing_wrapped_companion_ephemeral_pub");
  if (!phone || !wrapped || wrapped.length < 80) return;
  conn.pairCode = { phone, wrappedCompanionEphemeral: wrapped, ref: randomBytes(16) };
  conn.sim.pendingCodes.set(phone, conn);
}

/**
 * The phone enters `code`. Resolves once the companion answered `companion_finish` and
 * `pair-success` went out; rejects when the code was wrong (the key bundle does not decrypt).
 */
export async function enterPairingCode(sim: Sim, phone: Phone, code: string): Promise<LinkedDevice> {
  const conn = sim.pendingCodes.get(phone.phone);
  const req = conn?.pairCode;
  if (!conn || !req || conn.closed || !conn.registration)
    throw new PairingError(404, "no socket is waiting for a pairing code for this phone");
  const w = req.wrappedCompanionEphemeral;
  const companionEphemeral = aesDecryptCTR(
    w.subarray(48, 80),
    await derivePairingCodeKey(code, w.subarray(0, 32)),
    w.subarray(32, 48),
  );
  const primaryEphemeral = newKeyPair();
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const wrappedPrimary = Buffer.concat([
    salt,
    iv,
    aesEncryptCTR(primaryEphemeral.public, await derivePairingCodeKey(code, salt), iv),
  ]);
  const result = new Promise<LinkedDevice>((resolve, reject) => {
    // a wrong code makes the companion derive a bogus key and give up silently, so silence is
    // the only signal the phone gets; 3 s is far more than a healthy companion needs on loopback
    const timer = setTimeout(
      () => reject(new PairingError(400, "wrong pairing code (the companion did not finish pairing)")),
      3_000,
    );
    req.finish = async (finish) => {
      clearTimeout(timer);
      try {
        resolve(finishCodePairing(conn, phone, finish, companionEphemeral, primaryEphemeral.private));
      } catch (e) {
        reject(e);
      }
    };
  });
  conn.send({
    tag: "notification",
    attrs: { from: S_WHATSAPP_NET, type: "link_code_companion_reg", id: conn.nextId(), t: unixNow() },
    content: [
      {
        tag: "link_code_companion_reg",
        attrs: {},
        content: [
          { tag: "link_code_pairing_ref", attrs: {}, content: req.ref },
          { tag: "primary_identity_pub", attrs: {}, content: phone.signal.identity.public },
          { tag: "link_code_pairing_wrapped_primary_ephemeral_pub", attrs: {}, content: wrappedPrimary },
        ],
      },
    ],
  });
  return result;
}

function finishCodePairing(
  conn: Connection,
  phone: Phone,
  bundle: Buffer,
  companionEphemeral: Buffer,
  primaryPrivate: Buffer,
): LinkedDevice {
  const companionShared = Curve.sharedKey(primaryPrivate, companionEphemeral);
  const key = Buffer.from(
    hkdf(companionShared, 32, { salt: bundle.subarray(0, 32), info: "link_code_pairing_key_bundle_encryption_key" }),
  );
  let plain: Buffer;
  try {
    plain = aesDecryptGCM(bundle.subarray(44), key, bundle.subarray(32, 44), Buffer.alloc(0));
  } catch {
    throw new PairingError(400, "wrong pairing code");
  }
  const companionIdentity = plain.subarray(0, 32);
  const random = plain.subarray(64, 96);
  const identityShared = Curve.sharedKey(phone.signal.identity.private, companionIdentity);
  const advSecret = Buffer.from(
    hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: "adv_secret" }),
  );
  conn.sim.pendingCodes.delete(phone.phone);
  for (const r of conn.registration?.refs ?? []) conn.sim.pendingRefs.delete(r);
  return sendPairSuccess(conn, phone, advSecret);
}

function sendPairSuccess(conn: Connection, phone: Phone, advSecret: Buffer): LinkedDevice {
  const reg = conn.registration;
  if (!reg) throw new PairingError(409, "socket is not registering");
  const device: LinkedDevice = {
    phone: phone.phone,
    id: phone.nextDeviceId++,
    noisePub: reg.noisePub,
    identityPub: reg.identityPub,
    registrationId: reg.registrationId,
    signedPreKey: reg.signedPreKey,
    preKeys: Buffer.alloc(0),
    preKeyCursor: 0,
    connections: 0,
    maxConcurrentConnections: 0,
    logins: 0,
    pairings: 1,
    offline: [],
    offlineDropped: 0,
    // the phone sends a new companion its history after that companion's first login
    historyPending: true,
  };
  phone.devices.set(device.id, device);
  const deviceDetails = proto.ADVDeviceIdentity.encode({
    rawId: randomInt(1, 2 ** 31),
    timestamp: Math.floor(Date.now() / 1000),
    keyIndex: device.id,
  }).finish();
  // [6, 0] is WA_ADV_ACCOUNT_SIG_PREFIX: the phone vouches for the companion's identity key
  const accountSignature = Curve.sign(
    phone.signal.identity.private,
    Buffer.concat([Buffer.from([6, 0]), deviceDetails, reg.identityPub]),
  );
  const details = proto.ADVSignedDeviceIdentity.encode({
    details: deviceDetails,
    accountSignatureKey: phone.signal.identity.public,
    accountSignature,
  }).finish();
  const deviceIdentity = proto.ADVSignedDeviceIdentityHMAC.encode({
    details,
    hmac: hmacSign(details, advSecret),
  }).finish();
  conn.send({
    tag: "iq",
    attrs: { from: S_WHATSAPP_NET, type: "set", id: conn.nextId(), t: unixNow() },
    content: [
      {
        tag: "pair-success",
        attrs: {},
        content: [
          { tag: "device-identity", attrs: {}, content: deviceIdentity },
          { tag: "platform", attrs: { name: "android" } },
          {
            tag: "device",
            attrs: { jid: `${phone.phone}:${device.id}@s.whatsapp.net`, lid: `${phone.lid}:${device.id}@lid` },
          },
        ],
      },
    ],
  });
  return device;
}
