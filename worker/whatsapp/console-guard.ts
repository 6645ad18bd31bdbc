import type { Logger } from "pino";

// libsignal (under Baileys) prints whole session records with console.info/warn — private keys,
// root and chain keys included — straight to stdout, past pino's redaction. In the worker those
// lines become debug logs of their first words only; every other console call passes through.
const SIGNAL_LINE =
  /^(Closing session|Opening session|Removing old closed session|Session already (closed|open)|Migrating session|Closing open session in favor|Decrypted message with closed session)/;

export function guardConsoleFromSignalKeys(log: Logger) {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (typeof args[0] === "string" && SIGNAL_LINE.test(args[0])) {
        log.debug({ signal: args[0].replace(/:\s*$/, "") }, "libsignal");
        return;
      }
      original(...args);
    };
  }
}
