import { describe, expect, it } from "vitest";
import { groupName, memberLine } from "./group-inbound";

describe("group-inbound", () => {
  it("asks WhatsApp for a group's subject once per number and group, and again after a failure", async () => {
    let asked = 0;
    let fail = true;
    const sock = {
      groupMetadata: async () => {
        asked++;
        if (fail) throw new Error("timed out");
        return { subject: "Night shift" };
      },
    };
    expect(await groupName(sock, "inst-a", "1@g.us")).toBeNull();
    fail = false;
    expect(await groupName(sock, "inst-a", "1@g.us")).toBe("Group: Night shift");
    expect(await groupName(sock, "inst-a", "1@g.us")).toBe("Group: Night shift");
    expect(asked).toBe(2);
    // another number in the same group asks for itself (its own membership, its own socket)
    expect(await groupName(sock, "inst-b", "1@g.us")).toBe("Group: Night shift");
    expect(asked).toBe(3);
  });

  it("names a member without push name by the phone Baileys maps its LID to, never by the LID", async () => {
    const sock = {
      signalRepository: {
        lidMapping: {
          getPNForLID: async (lid: string) => (lid === "100000000000009@lid" ? "15550009999:0@s.whatsapp.net" : null),
        },
      },
    };
    expect(await memberLine(sock, { memberPn: null, memberLid: "100000000000009@lid" }, null, "hi", "text")).toBe(
      "+15550009999: hi",
    );
    expect(await memberLine(sock, { memberPn: null, memberLid: "100000000000008@lid" }, null, "hi", "text")).toBe(
      "A member: hi",
    );
    expect(
      await memberLine(sock, { memberPn: "15550001111@s.whatsapp.net", memberLid: null }, "Ana", null, "image"),
    ).toBe("Ana: [image]");
  });
});
