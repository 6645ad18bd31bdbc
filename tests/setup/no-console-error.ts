import { afterEach, beforeEach, vi } from "vitest";

// A stray console.error in a test is a failure (AGENTS.md#test-levels). A test may name lines it
// expects (allowConsoleErrors in tests/integration/helpers/console-errors.ts): those are counted,
// not failed, and the allowance ends with the test.
let errors: unknown[][] = [];
type Allowance = { pattern: RegExp; seen: number };
const slot = globalThis as { __consoleErrorAllowances?: Allowance[] };
beforeEach(() => {
  errors = [];
  slot.__consoleErrorAllowances = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    const line = typeof args[0] === "string" ? args[0] : "";
    const allowed = slot.__consoleErrorAllowances?.find((a) => a.pattern.test(line));
    if (allowed) allowed.seen++;
    else errors.push(args);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  slot.__consoleErrorAllowances = [];
  if (errors.length > 0) {
    const first = errors[0].map((a) => (a instanceof Error ? a.stack : String(a))).join(" ");
    throw new Error(`console.error was called ${errors.length} time(s); first: ${first}`);
  }
});
