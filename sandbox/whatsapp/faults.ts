// Breaking a linked device's connection the way WhatsApp does, for the client's reconnect logic.
import type { BinaryNode } from "@whiskeysockets/baileys";
import type { Sim } from "./sim";
import type { LinkedDevice, Phone } from "./state";

export type FaultKind =
  | "drop"
  | "stream-error"
  | "delay-acks"
  | "ban"
  | "unban"
  | "unlink"
  | "nack"
  | "undecryptable"
  | "garbled";

/** The stanza WhatsApp sends for each code, as Baileys maps it to DisconnectReason. */
export function streamErrorFor(code: number): BinaryNode {
  // 440 arrives as a `conflict` child, not a code attribute; Baileys maps conflict to 440
  if (code === 440)
    return { tag: "stream:error", attrs: {}, content: [{ tag: "conflict", attrs: { type: "replaced" } }] };
  // 401 from a live session is the phone removing the device
  if (code === 401)
    return {
      tag: "stream:error",
      attrs: { code: "401" },
      content: [{ tag: "conflict", attrs: { type: "device_removed" } }],
    };
  return { tag: "stream:error", attrs: { code: String(code) } };
}

export interface FaultOptions {
  code?: number;
  delayMs?: number;
  phone?: string;
  count?: number;
}

export function applyFault(sim: Sim, targets: LinkedDevice[], kind: FaultKind, opts: FaultOptions): number {
  switch (kind) {
    case "nack":
      // arms the server: the next `count` messages from these companions get an error ack
      sim.state.nackFaults.set(opts.phone ?? "*", { code: String(opts.code ?? 479), remaining: opts.count ?? 1 });
      return targets.length;
    case "undecryptable": {
      // the contact `phone` (not a linked number) fails to decrypt the next `count` messages
      const contact = opts.phone ? sim.state.phones.get(opts.phone) : undefined;
      if (contact) contact.failDecrypts = opts.count ?? 1;
      return contact ? 1 : 0;
    }
    case "garbled": {
      // the companions cannot decrypt the contact `phone`'s next `count` messages (as when their
      // Signal session with it fell out of step); the phone answers their retry receipts after
      // `delayMs` (default 0)
      const contact = opts.phone ? sim.state.phones.get(opts.phone) : undefined;
      if (contact) {
        contact.garbleNext = opts.count ?? 1;
        contact.resendDelayMs = opts.delayMs ?? 0;
      }
      return contact ? 1 : 0;
    }
    case "delay-acks":
      sim.state.ackDelayMs.set(opts.phone ?? "*", opts.delayMs ?? 5000);
      return targets.length;
    case "drop":
      return each(targets, (d) => d.live?.drop());
    case "stream-error":
      return each(targets, (d) => d.live?.streamError(streamErrorFor(opts.code ?? 515)));
    case "ban":
      for (const p of phonesOf(sim, targets, opts.phone)) p.banned = true;
      return each(targets, (d) => d.live?.streamError(streamErrorFor(403)));
    case "unban":
      for (const p of phonesOf(sim, targets, opts.phone)) p.banned = false;
      return targets.length;
    case "unlink":
      for (const d of targets) unlinkDevice(sim, d);
      return targets.length;
  }
}

export function unlinkDevice(sim: Sim, d: LinkedDevice): void {
  sim.state.phones.get(d.phone)?.devices.delete(d.id);
  d.live?.streamError(streamErrorFor(401));
  d.offline = [];
}

function each(targets: LinkedDevice[], fn: (d: LinkedDevice) => void): number {
  let n = 0;
  for (const d of targets) {
    if (d.live) n++;
    fn(d);
  }
  return n;
}

function phonesOf(sim: Sim, targets: LinkedDevice[], phone?: string): Phone[] {
  const set = new Set<Phone>();
  if (phone) {
    const p = sim.state.phones.get(phone);
    if (p) set.add(p);
  }
  for (const d of targets) {
    const p = sim.state.phones.get(d.phone);
    if (p) set.add(p);
  }
  return [...set];
}
