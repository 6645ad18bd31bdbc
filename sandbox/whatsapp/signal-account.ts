// A simulated phone's own Signal identity (its device 0), built on the registry's libsignal.
// Sessions are keyed by the peer device; one-time pre-keys are minted when a bundle is fetched,
// so an idle phone holds only its identity and signed pre-key.

import { randomInt } from "node:crypto";
import { generateSignalPubKey, signedKeyPair } from "@whiskeysockets/baileys";
import { ProtocolAddress, SessionBuilder, SessionCipher, SessionRecord, type SignalStorage } from "libsignal";
import { type KeyPair, newKeyPair } from "./server-identity";

export interface PreKeyBundle {
  registrationId: number;
  identityKey: Buffer; // 32 bytes, no type prefix
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  preKey?: { keyId: number; publicKey: Buffer };
}

export type EncType = "pkmsg" | "msg";

export class SignalAccount {
  readonly registrationId = randomInt(1, 16380);
  readonly identity: KeyPair = newKeyPair();
  readonly signedPreKey = signedKeyPair(this.identity, 1);
  private readonly preKeys = new Map<number, KeyPair>();
  private readonly sessions = new Map<string, Uint8Array>();
  private nextPreKeyId = 1;
  private readonly storage: SignalStorage;

  constructor() {
    const self = this;
    this.storage = {
      async loadSession(id) {
        const s = self.sessions.get(id);
        return s ? SessionRecord.deserialize(s) : undefined;
      },
      async storeSession(id, record) {
        self.sessions.set(id, record.serialize());
      },
      // trust on first use, as WhatsApp clients do
      isTrustedIdentity: () => true,
      async loadPreKey(id) {
        const k = self.preKeys.get(Number(id));
        return k ? { privKey: Buffer.from(k.private), pubKey: Buffer.from(k.public) } : undefined;
      },
      removePreKey(id) {
        self.preKeys.delete(Number(id));
      },
      loadSignedPreKey: () => ({
        privKey: Buffer.from(self.signedPreKey.keyPair.private),
        pubKey: Buffer.from(self.signedPreKey.keyPair.public),
      }),
      getOurRegistrationId: () => self.registrationId,
      getOurIdentity: () => ({
        privKey: Buffer.from(self.identity.private),
        pubKey: Buffer.from(generateSignalPubKey(self.identity.public)),
      }),
    };
  }

  /** What a pre-key fetch for this phone's device 0 returns; each call consumes a fresh one-time key. */
  takeBundle(): PreKeyBundle {
    const keyId = this.nextPreKeyId++;
    const pair = newKeyPair();
    this.preKeys.set(keyId, pair);
    return {
      registrationId: this.registrationId,
      identityKey: this.identity.public,
      signedPreKey: {
        keyId: this.signedPreKey.keyId,
        publicKey: Buffer.from(this.signedPreKey.keyPair.public),
        signature: Buffer.from(this.signedPreKey.signature),
      },
      preKey: { keyId, publicKey: pair.public },
    };
  }

  hasSession(peer: PeerAddress): boolean {
    return this.sessions.has(address(peer).toString());
  }

  async startSession(peer: PeerAddress, bundle: PreKeyBundle): Promise<void> {
    await new SessionBuilder(this.storage, address(peer)).initOutgoing({
      registrationId: bundle.registrationId,
      identityKey: generateSignalPubKey(bundle.identityKey),
      signedPreKey: {
        keyId: bundle.signedPreKey.keyId,
        publicKey: generateSignalPubKey(bundle.signedPreKey.publicKey),
        signature: bundle.signedPreKey.signature,
      },
      preKey: bundle.preKey
        ? { keyId: bundle.preKey.keyId, publicKey: generateSignalPubKey(bundle.preKey.publicKey) }
        : (undefined as never),
    });
  }

  async encrypt(peer: PeerAddress, plaintext: Uint8Array): Promise<{ type: EncType; ciphertext: Buffer }> {
    const { type, body } = await new SessionCipher(this.storage, address(peer)).encrypt(plaintext);
    return { type: type === 3 ? "pkmsg" : "msg", ciphertext: Buffer.from(body, "binary") };
  }

  async decrypt(peer: PeerAddress, type: string, ciphertext: Uint8Array): Promise<Buffer> {
    const cipher = new SessionCipher(this.storage, address(peer));
    if (type === "pkmsg") return cipher.decryptPreKeyWhisperMessage(ciphertext);
    if (type === "msg") return cipher.decryptWhisperMessage(ciphertext);
    throw new Error(`cannot decrypt enc type ${type}`);
  }

  forgetSessions(predicate: (key: string) => boolean): void {
    for (const k of this.sessions.keys()) if (predicate(k)) this.sessions.delete(k);
  }
}

/** A device of some account, as the simulator names it in its own stores (not a wire format). */
export interface PeerAddress {
  user: string;
  device: number;
}

function address(p: PeerAddress): ProtocolAddress {
  return new ProtocolAddress(p.user, p.device);
}
