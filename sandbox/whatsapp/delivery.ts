// At-least-once delivery to a companion, as WhatsApp does it: a stanza counts as delivered only
// once the client acknowledged it. Until then it belongs to the live connection that carried it;
// when that socket closes, everything still unacknowledged goes back to the front of the device's
// offline queue, in its original order, and is replayed (with `offline`) at the next login.
import { type BinaryNode, getBinaryNodeChild, getBinaryNodeChildren } from "@whiskeysockets/baileys";
import { S_WHATSAPP_NET } from "./sim";
import type { LinkedDevice } from "./state";

/** Stanzas kept per device while it is offline; beyond this the oldest are dropped (and counted). */
export const MAX_OFFLINE = 5_000;

/**
 * Stanzas written to one socket and not yet acknowledged. Keyed the way the client's answer names
 * them; a key can repeat (a delivered and a read receipt share the message id), hence the lists.
 * Lives only as long as the connection and holds only what is in flight.
 */
export class InFlight {
  private seq = 0;
  private readonly byKey = new Map<string, [number, BinaryNode][]>();

  track(node: BinaryNode): void {
    const key = sentKey(node);
    if (!key) return;
    const list = this.byKey.get(key);
    if (list) list.push([this.seq++, node]);
    else this.byKey.set(key, [[this.seq++, node]]);
  }

  /** A stanza from the client: receipts acknowledge messages, acks acknowledge their class. */
  settleFrom(node: BinaryNode): void {
    if (node.tag === "receipt") {
      // any receipt type ends a message's delivery (inactive, sender, peer_msg, read, retry…);
      // one receipt may name several messages: the first in `id`, the rest as <list><item id/>
      const ids = [
        node.attrs.id,
        ...getBinaryNodeChildren(getBinaryNodeChild(node, "list"), "item").map((i) => i.attrs.id),
      ];
      for (const id of ids) if (id) this.settle(`message:${id}`);
    } else if (node.tag === "ack") {
      const { id, class: cls, type } = node.attrs;
      // a nack (an ack with `error`) ends it too: the client has decided, a replay would not help
      if (cls === "message") this.settle(`message:${id}`);
      else if (cls === "receipt") this.settle(`receipt:${id}:${type ?? ""}`);
      else if (cls === "notification") this.settle(`notification:${id}`);
    }
  }

  get size(): number {
    let n = 0;
    for (const l of this.byKey.values()) n += l.length;
    return n;
  }

  /** Everything unacknowledged, oldest first; the connection gives it up. */
  drain(): BinaryNode[] {
    const all = [...this.byKey.values()]
      .flat()
      .sort((a, b) => a[0] - b[0])
      .map((e) => e[1]);
    this.byKey.clear();
    return all;
  }

  private settle(key: string): void {
    const list = this.byKey.get(key);
    if (!list) return;
    list.shift();
    if (list.length === 0) this.byKey.delete(key);
  }
}

function sentKey(node: BinaryNode): string | undefined {
  const { id, type } = node.attrs;
  if (!id) return undefined;
  if (node.tag === "message") return `message:${id}`;
  // the client's ack repeats the receipt's type (Utils/stanza-ack.js), so it tells them apart
  if (node.tag === "receipt") return `receipt:${id}:${type ?? ""}`;
  if (node.tag === "notification") return `notification:${id}`;
  return undefined;
}

/** Live when the device's socket has taken over its offline queue, queued otherwise. */
export function deliverOrQueue(d: LinkedDevice, node: BinaryNode): void {
  if (d.live?.ready) return d.live.deliver(node);
  d.offline.push(node);
  trimOffline(d);
}

/** Unacknowledged stanzas of a closed socket go back in front of what queued since. */
export function requeueFront(d: LinkedDevice, nodes: BinaryNode[]): void {
  if (nodes.length === 0) return;
  d.offline.unshift(...nodes);
  trimOffline(d);
}

/** How a queued stanza goes out at login: marked as offline delivery, otherwise unchanged. */
export function asOffline(node: BinaryNode): BinaryNode {
  return { ...node, attrs: { ...node.attrs, offline: "1" } };
}

export function offlineMarker(count: number): BinaryNode {
  return { tag: "ib", attrs: { from: S_WHATSAPP_NET }, content: [{ tag: "offline", attrs: { count: String(count) } }] };
}

function trimOffline(d: LinkedDevice): void {
  const over = d.offline.length - MAX_OFFLINE;
  if (over > 0) {
    d.offline.splice(0, over);
    d.offlineDropped += over;
  }
}
