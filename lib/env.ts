import { z } from "zod";

// The one place that reads process.env (conventions.md §1). Parsed lazily, once per process, so
// that `next build` can import route modules without a full configuration.

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");
const int = (def: number) => z.coerce.number().int().nonnegative().default(def);
const url = z.string().url();
const key32 = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=]+$/, "must look like <keyId>:<base64 of 32 bytes>")
  .refine((v) => Buffer.from(v.split(":")[1], "base64").length === 32, "key must decode to exactly 32 bytes");

// `http(s)://host[:port]` origins, comma-separated, that outgoing requests (media URLs, the outgoing
// webhook) may reach even on private addresses: the sandbox's simulators. Normalised to URL.origin
// so that the guard compares like with like.
const origins = z
  .string()
  .default("")
  .transform((v, ctx) => {
    const out: string[] = [];
    for (const item of v.split(",").map((s) => s.trim()).filter(Boolean)) {
      let u: URL | undefined;
      try {
        u = new URL(item);
      } catch {}
      const bare = u && (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password && u.pathname === "/" && !u.search && !u.hash;
      if (!u || !bare) {
        ctx.addIssue({ code: "custom", message: `"${item}" is not an origin; use http(s)://host[:port], comma-separated` });
        continue;
      }
      out.push(u.origin);
    }
    return out;
  });

export const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    APP_URL: url,
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL"),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
    ENCRYPTION_KEY: key32,
    ENCRYPTION_KEYS_PREVIOUS: z
      .string()
      .default("")
      .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(key32)),
    NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters"),

    GHL_CLIENT_ID: z.string().regex(/^[^-\s]+-[^\s]+$/, "must look like <appId>-<suffix> as GHL issues it"),
    // the id GHL puts in `appId` of every app webhook; empty = the client id's part before the first `-`
    GHL_APP_ID: z.string().regex(/^[^-\s]+$/, "must be the app id alone (no `-`, no spaces)").default(""),
    GHL_CLIENT_SECRET: z.string().min(8),
    GHL_SSO_KEY: z.string().min(8),
    GHL_API_BASE_URL: url.default("https://services.leadconnectorhq.com"),
    GHL_MARKETPLACE_URL: url.default("https://marketplace.gohighlevel.com"),
    GHL_SCOPES: z
      .string()
      .default(
        "contacts.readonly contacts.write conversations.readonly conversations.write conversations/message.readonly conversations/message.write locations.readonly oauth.readonly oauth.write",
      ),
    GHL_WEBHOOK_PUBLIC_KEY_ED25519: z.string().default(""),
    GHL_WEBHOOK_PUBLIC_KEY_RSA: z.string().default(""),
    GHL_CONVERSATION_PROVIDER_ID: z.string().default(""),
    GHL_DELIVERY_ALLOW_UNSIGNED: bool.default(false),
    PANEL_FRAME_ANCESTORS: z
      .string()
      .default("https://app.gohighlevel.com https://*.gohighlevel.com https://app.leadconnectorhq.com https://*.leadconnectorhq.com"),

    WA_WEBSOCKET_URL: url.default("wss://web.whatsapp.com/ws/chat"),
    WA_SANDBOX_ROOT_PUBLIC_KEY: z.string().regex(/^([0-9a-f]{64})?$/i, "must be 64 hex characters").default(""),
    WA_ALLOW_SANDBOX_IN_PRODUCTION: bool.default(false),
    WA_SANDBOX_MEDIA_CA_PEM: z.string().default(""),
    TEXT_DELAY_MS: int(1200),
    MEDIA_DELAY_MS_MIN: int(2500),
    MEDIA_DELAY_MS_MAX: int(6000),
    MEDIA_URL_ALLOWED_ORIGINS: origins,

    WORKER_HTTP_PORT: int(9464),
    WORKER_ID: z.string().default(""),
    LEASE_TTL_MS: int(15000),
    GHL_QUEUE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
    METRICS_TOKEN: z.string().default(""),

    // quotas (SECURITY.md, item 10): numbers per location, and the direct API's rate limits per
    // API key and per location over a sliding window (0 = that limit off)
    MAX_INSTANCES_PER_LOCATION: z.coerce.number().int().min(1).max(10_000).default(10),
    API_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
    API_RATE_LIMIT_PER_KEY: int(600),
    API_RATE_LIMIT_PER_LOCATION: int(1200),
  });

// Rules across variables, checked on the raw values so that they are reported together with
// every other problem (an object-level refinement would only run once all fields parse).
function crossFieldProblems(raw: Record<string, string>): string[] {
  const out: string[] = [];
  const min = Number(raw.MEDIA_DELAY_MS_MIN ?? 2500);
  const max = Number(raw.MEDIA_DELAY_MS_MAX ?? 6000);
  if (Number.isFinite(min) && Number.isFinite(max) && min > max) out.push("MEDIA_DELAY_MS_MIN: must not exceed MEDIA_DELAY_MS_MAX");
  const allowed = ["true", "1", "yes"].includes(raw.WA_ALLOW_SANDBOX_IN_PRODUCTION ?? "");
  if (raw.NODE_ENV === "production" && raw.WA_SANDBOX_ROOT_PUBLIC_KEY && !allowed) {
    out.push("WA_SANDBOX_ROOT_PUBLIC_KEY: trusting a sandbox WhatsApp server in production needs WA_ALLOW_SANDBOX_IN_PRODUCTION=true");
  }
  // an unsigned Delivery URL call is only as good as the secret in its path: a sandbox aid, never production
  if (raw.NODE_ENV === "production" && ["true", "1", "yes"].includes(raw.GHL_DELIVERY_ALLOW_UNSIGNED ?? "")) {
    out.push("GHL_DELIVERY_ALLOW_UNSIGNED: unsigned Delivery URL calls are for the sandbox only and are refused in production (NODE_ENV=production); remove it and let GHL sign its calls");
  }
  // removed in favour of an allow-list: a deployment that relied on it learns so at start
  if (["true", "1", "yes"].includes(raw.ALLOW_PRIVATE_MEDIA_URLS ?? "")) {
    out.push("ALLOW_PRIVATE_MEDIA_URLS: no longer supported; list the origins that may be private in MEDIA_URL_ALLOWED_ORIGINS");
  }
  return out;
}

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}\nSee .env.example for every variable.`);
    this.name = "EnvError";
  }
}

/** Parses a whole environment; throws one EnvError naming every missing or malformed variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // an empty string means "not set", as in most .env files
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== "")) as Record<string, string>;
  const r = envSchema.safeParse(cleaned);
  const cross = crossFieldProblems(cleaned);
  if (r.success && cross.length === 0) return r.data;
  const issues = r.success ? [] : r.error.issues;
  const problems = issues.map((i) => {
    const name = i.path.join(".") || "(environment)";
    const missing = i.code === "invalid_type" && cleaned[name] === undefined;
    return missing ? `${name}: missing` : `${name}: ${i.message}`;
  });
  throw new EnvError([...problems, ...cross]);
}

let cached: Env | undefined;

export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** For tests that change configuration between cases. */
export function resetEnvCache() {
  cached = undefined;
}
