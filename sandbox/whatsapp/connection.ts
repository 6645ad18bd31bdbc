// One client socket: the Noise transport, then either registration (QR / pairing code) or login
// with stored credentials, then the stanzas of a logged-in device.

import { randomBytes } from "node:crypto";
import { type BinaryNode, proto } from "@whiskeysockets/baileys";
import type { WebSocket } from "ws";
import { answerCompanionRetry } from "./companion-retries";
import { asOffline, InFlight, offlineMarker, requeueFront } from "./delivery";
import { sendHistory } from "./history";
import { handleIq } from "./iq-handlers";
import { NoiseServer } from "./noise-server";
import { handleClientMessage } from "./outbound-messages";
import { own } from "./server-identity";
import { S_WHATSAPP_NET, type Sim, unixNow } from "./sim";
import type { LinkedDevice, LiveSocket } from "./state";

/** What a new companion declared in its registration payload (before any phone has scanned). */
export interface Registration {
  noisePub: Buffer;
  identityPub: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  refs: string[];
}

export interface PairCodeRequest {
  phone: string;
  wrappedCompanionEphemeral: Buffer;
  ref: Buffer;
  finish?: (wrappedKeyBundle: Buffer) => Promise<void>;
}

let tagSeq = 0;

export class Connection {
  readonly noise: NoiseServer;
  registration?: Registration;
  pairCode?: PairCodeRequest;
  device?: LinkedDevice;
  closed = false;
  private liveHandle?: LiveSocket;
  /** what this socket delivered and the client has not acknowledged (see delivery.ts) */
  private readonly inFlight = new InFlight();

  constructor(
    readonly sim: Sim,
    private readonly ws: WebSocket,
  ) {
    this.noise = new NoiseServer(ws, sim.identity, {
      onClientPayload: (p, noisePub) => this.onClientPayload(p, noisePub),
      onNode: (n) => this.onNode(n),
      // a malformed or undecryptable frame: WhatsApp simply drops such a socket
      onError: () => undefined,
    });
    ws.on("close", () => this.onClose());
    sim.connections.add(this);
  }

  nextId(): string {
    return `sim-${(++tagSeq).toString(36)}`;
  }

  send(node: BinaryNode): void {
    this.noise.send(node);
  }

  /** Writes a stanza that must reach the client: kept until it is acknowledged. */
  deliver(node: BinaryNode, wire: BinaryNode = node): void {
    this.inFlight.track(node);
    this.noise.send(wire);
  }

  /** A stream error as WhatsApp sends it: the node, then the server closes the socket. */
  streamError(node: BinaryNode): void {
    this.send(node);
    // the client closes on receipt; this only catches a client that does not
    setTimeout(() => this.drop(), 200).unref();
  }

  drop(): void {
    this.ws.terminate();
  }

  private async onClientPayload(p: proto.ClientPayload, noisePub: Buffer): Promise<void> {
    if (p.devicePairingData) return this.startRegistration(p.devicePairingData, noisePub);
    const phone = this.sim.state.phones.get(String(p.username ?? ""));
    const device = phone?.devices.get(p.device ?? -1);
    if (phone?.banned) return this.fail("403");
    // an unknown device or another noise key means the phone unlinked it: 401 logs the client out
    if (!phone || !device || !device.noisePub.equals(noisePub)) return this.fail("401");
    this.attach(device);
    this.send({
      tag: "success",
      attrs: {
        t: unixNow(),
        props: "1",
        abprops: "1",
        location: "sim",
        creation: unixNow(),
        lid: `${phone.lid}:${device.id}@lid`,
      },
    });
  }

  private startRegistration(d: proto.ClientPayload.IDevicePairingRegistrationData, noisePub: Buffer): void {
    const refs = Array.from({ length: 6 }, () => `2@${randomBytes(24).toString("base64")}`);
    this.registration = {
      noisePub: own(noisePub),
      identityPub: own(d.eIdent ?? new Uint8Array()),
      registrationId: Buffer.from(d.eRegid ?? []).readUInt32BE(),
      signedPreKey: {
        keyId: Buffer.from(d.eSkeyId ?? []).readUIntBE(0, 3),
        publicKey: own(d.eSkeyVal ?? new Uint8Array()),
        signature: own(d.eSkeySig ?? new Uint8Array()),
      },
      refs,
    };
    for (const r of refs) this.sim.pendingRefs.set(r, this);
    this.send({
      tag: "iq",
      attrs: { from: S_WHATSAPP_NET, type: "set", id: this.nextId(), xmlns: "md" },
      content: [
        {
          tag: "pair-device",
          attrs: {},
          content: refs.map((r) => ({ tag: "ref", attrs: {}, content: Buffer.from(r) })),
        },
      ],
    });
  }

  /** Login: one live socket per device; a second one replaces the first, as on WhatsApp. */
  private attach(device: LinkedDevice): void {
    const previous = device.live;
    if (previous) {
      previous.streamError({
        tag: "stream:error",
        attrs: {},
        content: [{ tag: "conflict", attrs: { type: "replaced" } }],
      });
      // the replaced socket's unacknowledged stanzas go to this one's replay, not to a later login
      previous.ready = false;
      previous.giveBack();
    }
    this.device = device;
    device.connections++;
    device.maxConcurrentConnections = Math.max(device.maxConcurrentConnections, device.connections);
    device.logins++;
    this.liveHandle = {
      ready: false,
      deliver: (n) => this.deliver(n),
      send: (n) => this.send(n),
      streamError: (n) => this.streamError(n),
      drop: () => this.drop(),
      unacked: () => this.inFlight.size,
      giveBack: () => this.giveBack(),
    };
    device.live = this.liveHandle;
  }

  /** Puts what the client never acknowledged back in front of the device's offline queue. */
  giveBack(): void {
    const d = this.device;
    const back = this.inFlight.drain();
    // an unlinked device (or one forgotten by a reset) has nobody to replay to
    if (d && this.sim.state.phones.get(d.phone)?.devices.get(d.id) === d) requeueFront(d, back);
  }

  private fail(reason: string): void {
    this.send({ tag: "failure", attrs: { reason, location: "sim" } });
    setTimeout(() => this.drop(), 100).unref();
  }

  /**
   * After the client's passive/active iq: the queued stanzas in order, each marked `offline`
   * (Baileys then labels message upserts "append"), then the end-of-offline marker. From here on
   * new stanzas go straight to this socket.
   */
  flushOffline(): void {
    const d = this.device;
    if (!d || !this.liveHandle || d.live !== this.liveHandle || this.liveHandle.ready) return;
    const queued = d.offline.splice(0);
    for (const n of queued) this.deliver(n, asOffline(n));
    this.send(offlineMarker(queued.length));
    this.liveHandle.ready = true;
    // a companion just linked: its phone now sends the chats it holds (history sync)
    const owner = this.sim.state.phones.get(d.phone);
    if (d.historyPending && owner) {
      d.historyPending = false;
      void sendHistory(this.sim, owner, d).catch(() => {});
    }
  }

  private async onNode(node: BinaryNode): Promise<void> {
    if (node.tag === "iq") return handleIq(this, node);
    if (node.tag === "message" && this.device) return handleClientMessage(this, this.device, node);
    // receipts and acks end a delivery; presence and the rest need no answer
    if (node.tag === "receipt" || node.tag === "ack") this.inFlight.settleFrom(node);
    // a companion that could not decrypt a phone's message: the phone sends it again
    if (node.tag === "receipt" && node.attrs.type === "retry" && this.device) {
      const d = this.device;
      const outcome = await answerCompanionRetry(this.sim, d, node);
      d.retryReceipts ??= {};
      d.retryReceipts[outcome] = (d.retryReceipts[outcome] ?? 0) + 1;
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.sim.connections.delete(this);
    for (const r of this.registration?.refs ?? [])
      if (this.sim.pendingRefs.get(r) === this) this.sim.pendingRefs.delete(r);
    if (this.pairCode && this.sim.pendingCodes.get(this.pairCode.phone) === this)
      this.sim.pendingCodes.delete(this.pairCode.phone);
    const d = this.device;
    if (d) {
      d.connections = Math.max(0, d.connections - 1);
      if (d.live === this.liveHandle) d.live = undefined;
      this.giveBack();
    }
  }
}
