// The server half of WhatsApp Web's transport: 3-byte length framing, the Noise XX handshake
// (Noise_XX_25519_AESGCM_SHA256, the client's side is Baileys' Utils/noise-handler.js), then
// AES-GCM transport frames carrying binary nodes. One instance per WebSocket.
import {
  aesDecryptGCM,
  aesEncryptGCM,
  type BinaryNode,
  Curve,
  decodeBinaryNode,
  encodeBinaryNode,
  hkdf,
  proto,
  sha256,
} from "@whiskeysockets/baileys";
import type { WebSocket } from "ws";
import { newKeyPair, type ServerIdentity } from "./server-identity";

// 32 bytes, so it is used as the initial hash directly (no sha256), exactly as the client does.
const NOISE_MODE = Buffer.from("Noise_XX_25519_AESGCM_SHA256\0\0\0\0");
const EMPTY = Buffer.alloc(0);

export interface NoiseEvents {
  onClientPayload(payload: proto.ClientPayload, clientNoisePub: Buffer): void | Promise<void>;
  onNode(node: BinaryNode): void | Promise<void>;
  onError(err: unknown): void;
}

export class NoiseServer {
  private phase: "intro" | "hello" | "finish" | "transport" = "intro";
  private inBytes: Buffer = EMPTY;
  private hash: Buffer = NOISE_MODE;
  private salt: Buffer = NOISE_MODE;
  private key: Buffer = NOISE_MODE;
  private counter = 0;
  private ephemeral?: { private: Buffer; public: Buffer };
  private readKey = EMPTY;
  private writeKey = EMPTY;
  private readCounter = 0;
  private writeCounter = 0;
  // frames are processed strictly in order: a node may depend on state set by the one before
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ws: WebSocket,
    private readonly identity: ServerIdentity,
    private readonly events: NoiseEvents,
  ) {
    ws.on("message", (data: Buffer) => {
      this.chain = this.chain
        .then(() => this.onData(Buffer.from(data)))
        .catch((e: unknown) => {
          this.events.onError(e);
          ws.terminate();
        });
    });
  }

  get isTransport(): boolean {
    return this.phase === "transport";
  }

  send(node: BinaryNode): void {
    if (this.phase !== "transport" || this.ws.readyState !== this.ws.OPEN) return;
    const ct = aesEncryptGCM(encodeBinaryNode(node), this.writeKey, iv(this.writeCounter++), EMPTY);
    this.ws.send(frame(ct));
  }

  private async onData(data: Buffer): Promise<void> {
    if (this.phase === "intro") {
      // "WA" 6 <dict version>: the client never sends routing info to a loopback URL
      if (data.subarray(0, 2).toString() !== "WA") throw new Error("missing WA intro header");
      this.mixHash(data.subarray(0, 4));
      data = data.subarray(4);
      this.phase = "hello";
    }
    this.inBytes = this.inBytes.length ? Buffer.concat([this.inBytes, data]) : data;
    while (this.inBytes.length >= 3) {
      const size = (this.inBytes[0] << 16) | this.inBytes.readUInt16BE(1);
      if (this.inBytes.length < size + 3) break;
      const f = this.inBytes.subarray(3, size + 3);
      this.inBytes = this.inBytes.subarray(size + 3);
      await this.onFrame(f);
    }
  }

  private async onFrame(f: Buffer): Promise<void> {
    if (this.phase === "hello") return this.onHello(f);
    if (this.phase === "finish") return this.onFinish(f);
    const plain = aesDecryptGCM(f, this.readKey, iv(this.readCounter++), EMPTY);
    await this.events.onNode(await decodeBinaryNode(plain));
  }

  private onHello(f: Buffer): void {
    const { clientHello } = proto.HandshakeMessage.decode(f);
    if (!clientHello?.ephemeral) throw new Error("no client hello");
    const clientEphemeral = Buffer.from(clientHello.ephemeral);
    this.mixHash(clientEphemeral);
    const e = newKeyPair();
    this.ephemeral = e;
    this.mixHash(e.public);
    this.mixKey(Curve.sharedKey(e.private, clientEphemeral));
    const encStatic = this.encryptHs(this.identity.noiseStatic.public);
    this.mixKey(Curve.sharedKey(this.identity.noiseStatic.private, clientEphemeral));
    const payload = this.encryptHs(this.identity.certChain);
    const hello = proto.HandshakeMessage.encode({
      serverHello: { ephemeral: e.public, static: encStatic, payload },
    }).finish();
    this.ws.send(frame(Buffer.from(hello)));
    this.phase = "finish";
  }

  private async onFinish(f: Buffer): Promise<void> {
    const { clientFinish } = proto.HandshakeMessage.decode(f);
    if (!clientFinish?.static || !clientFinish.payload || !this.ephemeral) throw new Error("bad client finish");
    const clientStatic = this.decryptHs(Buffer.from(clientFinish.static));
    this.mixKey(Curve.sharedKey(this.ephemeral.private, clientStatic));
    const payload = proto.ClientPayload.decode(this.decryptHs(Buffer.from(clientFinish.payload)));
    const keys = Buffer.from(hkdf(EMPTY, 64, { salt: this.salt, info: "" }));
    // the client writes with the first half, so that is what we read with
    this.readKey = keys.subarray(0, 32);
    this.writeKey = keys.subarray(32);
    this.phase = "transport";
    this.ephemeral = undefined;
    await this.events.onClientPayload(payload, clientStatic);
  }

  private mixHash(data: Uint8Array): void {
    this.hash = Buffer.from(sha256(Buffer.concat([this.hash, data])));
  }

  private mixKey(ikm: Uint8Array): void {
    const out = Buffer.from(hkdf(Buffer.from(ikm), 64, { salt: this.salt, info: "" }));
    this.salt = out.subarray(0, 32);
    this.key = out.subarray(32);
    this.counter = 0;
  }

  private encryptHs(plain: Uint8Array): Buffer {
    const ct = aesEncryptGCM(plain, this.key, iv(this.counter++), this.hash);
    this.mixHash(ct);
    return ct;
  }

  private decryptHs(ct: Buffer): Buffer {
    const plain = aesDecryptGCM(ct, this.key, iv(this.counter++), this.hash);
    this.mixHash(ct);
    return plain;
  }
}

function iv(counter: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(counter, 8);
  return b;
}

function frame(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(3 + data.length);
  out[0] = (data.length >> 16) & 0xff;
  out.writeUInt16BE(data.length & 0xffff, 1);
  out.set(data, 3);
  return out;
}
