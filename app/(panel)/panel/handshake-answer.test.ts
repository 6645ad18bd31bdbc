import { describe, expect, it } from "vitest";
import { frameAncestorSources } from "@/lib/http/frame-policy";
import { handshakePayload } from "./handshake-answer";

const parent = { name: "GHL's window" };
const allowed = frameAncestorSources("https://crm.agency.io http://127.0.0.1:4010");
const answer = { message: "REQUEST_USER_DATA_RESPONSE", payload: "U2FsdGVkX1-encrypted" };

describe("SSO handshake: whose answer signs the panel in", () => {
  it("takes the parent's answer from GHL's app, a white-label origin, or the sandbox's configured origin", () => {
    for (const origin of [
      "https://app.gohighlevel.com",
      "https://app.leadconnectorhq.com",
      "https://crm.agency.io",
      "http://127.0.0.1:4010",
    ]) {
      expect(handshakePayload({ origin, source: parent, data: answer }, parent, allowed)).toBe(answer.payload);
    }
  });

  it("ignores the parent's answer when the parent is on another origin (login CSRF)", () => {
    for (const origin of [
      "https://attacker.example",
      "https://app.gohighlevel.com.attacker.example",
      "http://app.gohighlevel.com",
      "null",
      "http://127.0.0.1:4011",
    ]) {
      expect(handshakePayload({ origin, source: parent, data: answer }, parent, allowed)).toBeNull();
    }
  });

  it("ignores an allowed origin speaking from another window than the parent", () => {
    expect(
      handshakePayload(
        { origin: "https://app.gohighlevel.com", source: { other: true }, data: answer },
        parent,
        allowed,
      ),
    ).toBeNull();
    expect(
      handshakePayload({ origin: "https://app.gohighlevel.com", source: null, data: answer }, parent, allowed),
    ).toBeNull();
  });

  it("ignores other messages and empty or non-string payloads", () => {
    const ok = { origin: "https://app.gohighlevel.com", source: parent };
    expect(handshakePayload({ ...ok, data: { message: "SOMETHING_ELSE", payload: "x" } }, parent, allowed)).toBeNull();
    expect(
      handshakePayload({ ...ok, data: { message: "REQUEST_USER_DATA_RESPONSE", payload: { a: 1 } } }, parent, allowed),
    ).toBeNull();
    expect(handshakePayload({ ...ok, data: { message: "REQUEST_USER_DATA_RESPONSE" } }, parent, allowed)).toBeNull();
    expect(handshakePayload({ ...ok, data: "REQUEST_USER_DATA_RESPONSE" }, parent, allowed)).toBeNull();
  });
});
