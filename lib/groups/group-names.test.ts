import { describe, expect, it } from "vitest";
import { groupContactName, groupLine, memberName } from "./group-names";

describe("group names", () => {
  it("names the group's contact after its subject, or not at all while it is unknown", () => {
    expect(groupContactName("Night shift")).toBe("Group: Night shift");
    expect(groupContactName("  ")).toBeNull();
    expect(groupContactName(undefined)).toBeNull();
  });

  it("names a member by push name, else by phone number, never by LID", () => {
    expect(memberName("Ana", "15550001111@s.whatsapp.net")).toBe("Ana");
    expect(memberName(" ", "15550001111:3@s.whatsapp.net")).toBe("+15550001111");
    expect(memberName(null, null)).toBe("A member");
  });

  it("prefixes a member's message, and says what an uncaptioned attachment is", () => {
    expect(groupLine("Ana", "who takes Saturday?", "text")).toBe("Ana: who takes Saturday?");
    expect(groupLine("+15550001111", null, "image")).toBe("+15550001111: [image]");
  });
});
