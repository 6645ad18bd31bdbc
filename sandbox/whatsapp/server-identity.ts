// The simulator's own trust anchor. Baileys pins WhatsApp's root key (WA_CERT_DETAILS.PUBLIC_KEY)
// and checks leaf <- intermediate <- root in the Noise handshake; a sandbox client swaps that key
// for rootPublicKey, so the chain below is what it verifies.
import { Curve, proto } from "@whiskeysockets/baileys";

export interface KeyPair {
  private: Buffer;
  public: Buffer;
}

/** Curve25519 key pair as Buffers (Baileys' Curve hands out Uint8Arrays typed loosely). */
export function newKeyPair(): KeyPair {
  const k = Curve.generateKeyPair();
  return { private: own(k.private), public: own(k.public) };
}

/**
 * A copy with its own memory. Small Buffer.from() copies are slices of shared 8 KB slabs, and a
 * 32-byte key kept for the life of a device would pin a whole slab: with thousands of devices,
 * that is most of the simulator's heap.
 */
export function own(b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(b.length);
  out.set(b);
  return out;
}

export interface ServerIdentity {
  root: KeyPair;
  noiseStatic: KeyPair;
  certChain: Buffer;
}

// 2100-01-01: the client does not check validity dates today, but a real-looking window costs nothing
const NOT_AFTER = 4102444800;

export function createServerIdentity(root: KeyPair = newKeyPair()): ServerIdentity {
  const intermediate = newKeyPair();
  const noiseStatic = newKeyPair();
  // issuerSerial 0 is WA_CERT_DETAILS.SERIAL: the client rejects any other issuer
  const interDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
    notBefore: 0,
    notAfter: NOT_AFTER,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: noiseStatic.public,
    notBefore: 0,
    notAfter: NOT_AFTER,
  }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: { details: interDetails, signature: Curve.sign(root.private, interDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
  return { root, noiseStatic, certChain: Buffer.from(certChain) };
}
