import { describe, expect, it } from "vitest";
import { contactUser } from "./pending-inbound";

describe("contactUser", () => {
  it("takes the user part of phone and LID JIDs, with or without a device, and of phone numbers", () => {
    expect(contactUser("15551234567@s.whatsapp.net")).toBe("15551234567");
    expect(contactUser("15551234567:12@s.whatsapp.net")).toBe("15551234567");
    expect(contactUser("100000000000123@lid")).toBe("100000000000123");
    expect(contactUser("100000000000123:3@lid")).toBe("100000000000123");
    expect(contactUser("+1 555 123-4567")).toBe("15551234567");
  });
  it("answers null for nothing to go by", () => {
    expect(contactUser(undefined)).toBeNull();
    expect(contactUser("")).toBeNull();
    expect(contactUser("@lid")).toBeNull();
  });
});
