import type { WAMessage } from "@whiskeysockets/baileys";
import { describe, expect, it } from "vitest";
import { reduceWaMessage } from "./inbound-reducer";

const msg = (
  remoteJid: string,
  message: Record<string, unknown>,
  extra: Partial<WAMessage["key"]> & { fromMe?: boolean } = {},
) =>
  ({
    key: { remoteJid, id: "ABC123", fromMe: false, ...extra },
    message,
    pushName: "Ana",
    messageTimestamp: 1_700_000_000,
  }) as unknown as WAMessage;

describe("reduceWaMessage", () => {
  it("keeps text from a phone JID", () => {
    const r = reduceWaMessage(msg("15550001111@s.whatsapp.net", { conversation: "hola" }), { groups: false });
    expect(r).toMatchObject({
      keep: true,
      lidOnly: false,
      value: { type: "text", text: "hola", jid: "15550001111@s.whatsapp.net", pushName: "Ana", waMessageId: "ABC123" },
    });
  });

  it("uses the phone JID WhatsApp pairs with a LID, and flags LID-only senders", () => {
    const withAlt = reduceWaMessage(
      msg("123456789@lid", { conversation: "x" }, { remoteJidAlt: "15550002222@s.whatsapp.net" } as never),
      { groups: false },
    );
    expect(withAlt).toMatchObject({
      keep: true,
      lidOnly: false,
      value: { jid: "15550002222@s.whatsapp.net", lid: "123456789@lid" },
    });
    const lidOnly = reduceWaMessage(msg("123456789@lid", { conversation: "x" }), { groups: false });
    expect(lidOnly).toMatchObject({ keep: true, lidOnly: true, value: { lid: "123456789@lid" } });
  });

  it("describes media with a caption and a file name", () => {
    const r = reduceWaMessage(
      msg("15550001111@s.whatsapp.net", { imageMessage: { mimetype: "image/jpeg", caption: "look" } }),
      { groups: false },
    );
    expect(r).toMatchObject({
      keep: true,
      value: { type: "image", text: "look" },
      media: { mimetype: "image/jpeg", fileName: "image-ABC123.jpg" },
    });
  });

  it("skips status, newsletters, reactions, protocol messages, and groups unless enabled", () => {
    expect(reduceWaMessage(msg("status@broadcast", { conversation: "x" }), { groups: true }).keep).toBe(false);
    expect(reduceWaMessage(msg("1@newsletter", { conversation: "x" }), { groups: true }).keep).toBe(false);
    expect(
      reduceWaMessage(msg("1555@s.whatsapp.net", { reactionMessage: { text: "👍" } }), { groups: true }).keep,
    ).toBe(false);
    expect(reduceWaMessage(msg("1555@s.whatsapp.net", { protocolMessage: { type: 0 } }), { groups: true }).keep).toBe(
      false,
    );
    expect(reduceWaMessage(msg("1203@g.us", { conversation: "x" }), { groups: false })).toMatchObject({
      keep: false,
      reason: expect.stringMatching(/group/),
    });
    expect(reduceWaMessage(msg("1203@g.us", { conversation: "x" }), { groups: true }).keep).toBe(true);
  });

  it("names the group as the chat and the member who wrote it, never a phone made of the group id", () => {
    const r = reduceWaMessage(
      msg("120363000000000001@g.us", { conversation: "hi all" }, {
        participant: "100000000000002@lid",
        participantAlt: "15550003333@s.whatsapp.net",
      } as never),
      { groups: true },
    );
    expect(r).toMatchObject({
      keep: true,
      lidOnly: false,
      value: { jid: "120363000000000001@g.us", lid: null, pushName: "Ana" },
      group: { memberPn: "15550003333@s.whatsapp.net", memberLid: "100000000000002@lid" },
    });
    const lidMember = reduceWaMessage(
      msg("120363000000000001@g.us", { conversation: "x" }, { participant: "100000000000009@lid" } as never),
      { groups: true },
    );
    expect(lidMember).toMatchObject({ keep: true, group: { memberPn: null, memberLid: "100000000000009@lid" } });
    expect(reduceWaMessage(msg("15550001111@s.whatsapp.net", { conversation: "x" }), { groups: true })).toMatchObject({
      group: null,
    });
  });

  it("unwraps ephemeral messages and marks our own phone's messages", () => {
    const r = reduceWaMessage(
      msg(
        "15550001111@s.whatsapp.net",
        { ephemeralMessage: { message: { conversation: "secret" } } },
        { fromMe: true },
      ),
      { groups: false },
    );
    expect(r).toMatchObject({ keep: true, value: { text: "secret", fromMe: true } });
  });
});
