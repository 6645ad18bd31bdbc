// Lets one test expect console.error lines matching `pattern` (tests/setup/no-console-error.ts):
// they are counted instead of failing the test. Call inside the test; returns the running count.
type Allowance = { pattern: RegExp; seen: number };

export function allowConsoleErrors(pattern: RegExp): { seen(): number } {
  const slot = globalThis as { __consoleErrorAllowances?: Allowance[] };
  const a: Allowance = { pattern, seen: 0 };
  (slot.__consoleErrorAllowances ??= []).push(a);
  return { seen: () => a.seen };
}

/**
 * libsignal's own lines when a message does not decrypt with the sessions it has (it prints them
 * with console.error before Baileys logs the failure and asks the phone to resend it).
 */
export const SIGNAL_DECRYPT_FAILURE = /^(Failed to decrypt message with any known session|Session error:)/;
