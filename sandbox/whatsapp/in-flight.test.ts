import type { BinaryNode } from "@whiskeysockets/baileys";
import { describe, expect, it } from "vitest";
import { InFlight } from "./delivery";

const message = (id: string): BinaryNode => ({ tag: "message", attrs: { id, from: "1@s.whatsapp.net" } });
const receipt = (id: string, type?: string): BinaryNode => ({
  tag: "receipt",
  attrs: { id, ...(type ? { type } : {}) },
});
const notification = (id: string): BinaryNode => ({ tag: "notification", attrs: { id, type: "privacy_token" } });
const ids = (f: InFlight) => f.drain().map((n) => `${n.tag}:${n.attrs.id}:${n.attrs.type ?? ""}`);

// The real client's answers are covered by delivery.test.ts; these pin the matching rules.
describe("InFlight: what the client's answers acknowledge", () => {
  it("a receipt of any type settles messages, including those named in <list><item id/>", () => {
    const f = new InFlight();
    for (const id of ["a", "b", "c", "d"]) f.track(message(id));
    f.settleFrom({
      tag: "receipt",
      attrs: { id: "a", type: "inactive" },
      content: [{ tag: "list", attrs: {}, content: [{ tag: "item", attrs: { id: "c" } }] }],
    });
    f.settleFrom({ tag: "receipt", attrs: { id: "d", type: "retry" } });
    expect(ids(f)).toEqual(["message:b:"]);
  });

  it("an ack settles its own class only; a nack with an error settles too", () => {
    const f = new InFlight();
    f.track(message("m"));
    f.track(receipt("m"));
    f.track(notification("n"));
    f.settleFrom({ tag: "ack", attrs: { id: "n", class: "notification", type: "privacy_token" } });
    f.settleFrom({ tag: "ack", attrs: { id: "m", class: "message", error: "487" } });
    expect(ids(f)).toEqual(["receipt:m:"]);
  });

  it("receipts sharing a message id are told apart by type, as the client's ack repeats it", () => {
    const f = new InFlight();
    f.track(receipt("x"));
    f.track(receipt("x", "read"));
    f.settleFrom({ tag: "ack", attrs: { id: "x", class: "receipt", type: "read" } });
    expect(f.size).toBe(1);
    expect(ids(f)).toEqual(["receipt:x:"]);
  });

  it("drain gives back what is left in the order it was delivered, and empties", () => {
    const f = new InFlight();
    f.track(message("1"));
    f.track(receipt("2"));
    f.track(message("3"));
    f.track(receipt("2")); // the same key twice: both kept
    f.settleFrom({ tag: "ack", attrs: { id: "2", class: "receipt" } });
    expect(ids(f)).toEqual(["message:1:", "message:3:", "receipt:2:"]);
    expect(f.size).toBe(0);
  });
});
