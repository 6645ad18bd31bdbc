import { describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { normalizePhone, phoneToJid } from "./phone";

describe("normalizePhone", () => {
  it("keeps international numbers, whatever the formatting", () => {
    expect(normalizePhone("+1 (555) 123-4567").e164).toBe("+15551234567");
    expect(normalizePhone("0044 20 7946 0958").e164).toBe("+442079460958");
    expect(normalizePhone("15551234567@s.whatsapp.net").e164).toBe("+15551234567");
    expect(normalizePhone("tel:+34 612 34 56 78").e164).toBe("+34612345678");
  });

  it("applies the location's default country to national numbers", () => {
    expect(normalizePhone("(555) 123-4567", "US").e164).toBe("+15551234567");
    expect(normalizePhone("1 555 123 4567", "US").e164).toBe("+15551234567");
    expect(normalizePhone("07911 123456", "GB").e164).toBe("+447911123456");
    expect(normalizePhone("11 91234-5678", "BR").e164).toBe("+5511912345678");
    expect(normalizePhone("612 345 678", "es").e164).toBe("+34612345678");
  });

  it("refuses a national number when the location has no default country, saying how to fix it", () => {
    expect(() => normalizePhone("5551234567")).toThrow(/no default country.*\+<country code>/);
  });

  it("answers 400 for things that are not phone numbers", () => {
    for (const bad of ["", "hello", "+0123456", "+1234", "+1234567890123456"]) {
      try {
        normalizePhone(bad, "US");
        throw new Error(`accepted ${bad}`);
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        expect((e as AppError).status).toBe(400);
      }
    }
  });

  it("builds WhatsApp JIDs from E.164", () => {
    expect(phoneToJid("+15551234567")).toBe("15551234567@s.whatsapp.net");
  });
});
