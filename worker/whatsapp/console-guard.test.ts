import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { guardConsoleFromSignalKeys } from "./console-guard";

const saved = { ...console };
afterEach(() => Object.assign(console, saved));

describe("guardConsoleFromSignalKeys", () => {
  it("keeps libsignal's session dumps (with private keys) out of stdout; other lines pass", () => {
    const out = vi.fn();
    console.info = out;
    console.warn = out;
    const lines: string[] = [];
    const log = pino({ level: "debug" }, { write: (l: string) => void lines.push(l) });
    guardConsoleFromSignalKeys(log);
    console.info("Closing session:", { currentRatchet: { ephemeralKeyPair: { privKey: Buffer.from("secret") } } });
    console.warn("Closing open session in favor of incoming prekey bundle");
    console.info("a line of our own", 1);
    expect(out).toHaveBeenCalledTimes(1);
    expect(out).toHaveBeenCalledWith("a line of our own", 1);
    expect(lines.join("")).not.toContain("secret");
    expect(lines.join("")).toContain("Closing session");
  });
});
