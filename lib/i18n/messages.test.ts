import { describe, expect, it } from "vitest";
import { messagesFor, pickLocale } from "./messages";

describe("panel language", () => {
  it("follows the browser's preference order and falls back to English", () => {
    expect(pickLocale("es-MX,es;q=0.9,en;q=0.8")).toBe("es");
    expect(pickLocale("fr-FR,pt-BR;q=0.7,en;q=0.5")).toBe("pt");
    expect(pickLocale("en;q=0.3,pt;q=0.9")).toBe("pt");
    expect(pickLocale("de,fr")).toBe("en");
    expect(pickLocale(null)).toBe("en");
  });
  it("lets GHL's language override the browser's", () => {
    expect(pickLocale("en-US", "pt_BR")).toBe("pt");
    expect(pickLocale("es", "xx")).toBe("es");
  });
  it("has every text in every language, and translated", () => {
    const en = messagesFor("en");
    for (const l of ["es", "pt"] as const) {
      const m = messagesFor(l);
      expect(Object.keys(m).sort()).toEqual(Object.keys(en).sort());
      expect(m["panel.empty.title"]).not.toBe(en["panel.empty.title"]);
    }
  });
});
