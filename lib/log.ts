import pino, { type Logger } from "pino";

// JSON logs (AGENTS.md#logs). Tokens, keys, message bodies and QR strings never reach a log:
// they are redacted by path wherever they appear in a logged object.
export const REDACT_PATHS = [
  "*.access_token",
  "*.refresh_token",
  "*.accessToken",
  "*.refreshToken",
  "*.token",
  "*.code",
  "*.authorization",
  "*.Authorization",
  "*.password",
  "*.secret",
  "*.clientSecret",
  "*.apiKey",
  "*.text",
  "*.body",
  "*.qr",
  "*.creds",
  "*.keys",
  "*.payload",
  "access_token",
  "refresh_token",
  "token",
  "qr",
  "text",
  "body",
  "payload",
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
];

function level() {
  // the logger is needed before env() can be trusted (e.g. to report a bad env), so it reads its
  // own variable with a safe default instead of going through the schema (with lib/env.ts, the
  // one file allowed to read process.env: biome.json)
  return process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info");
}

const g = globalThis as unknown as { __logger?: Logger };

export function logger(): Logger {
  g.__logger ??= pino({
    level: level(),
    base: { svc: process.env.SERVICE_NAME ?? "app" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  return g.__logger;
}

/** Names the process in its log lines unless SERVICE_NAME does; call before the first log. */
export function defaultServiceName(name: string) {
  process.env.SERVICE_NAME ??= name;
}

export function childLogger(bindings: Record<string, unknown>): Logger {
  return logger().child(bindings);
}
