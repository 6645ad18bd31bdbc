import { isIP } from "node:net";
import { z } from "zod";
import { isSpecialAddress } from "./net/special-address";

// The one place that reads process.env (AGENTS.md#environment). Parsed lazily, once per process, so
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
    for (const item of v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      let u: URL | undefined;
      try {
        u = new URL(item);
      } catch {}
      const bare =
        u &&
        (u.protocol === "http:" || u.protocol === "https:") &&
        !u.username &&
        !u.password &&
        u.pathname === "/" &&
        !u.search &&
        !u.hash;
      if (!u || !bare) {
        ctx.addIssue({
          code: "custom",
          message: `"${item}" is not an origin; use http(s)://host[:port], comma-separated`,
        });
        continue;
      }
      out.push(u.origin);
    }
    return out;
  });

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  APP_URL: url,
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL"),
  // connections this process keeps open to Postgres (or to PgBouncer): README, "Connection pooling"
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
  ENCRYPTION_KEY: key32,
  ENCRYPTION_KEYS_PREVIOUS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(key32)),
  NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters"),

  GHL_CLIENT_ID: z.string().regex(/^[^-\s]+-[^\s]+$/, "must look like <appId>-<suffix> as GHL issues it"),
  // the id GHL puts in `appId` of every app webhook; empty = the client id's part before the first `-`
  GHL_APP_ID: z
    .string()
    .regex(/^[^-\s]+$/, "must be the app id alone (no `-`, no spaces)")
    .default(""),
  GHL_CLIENT_SECRET: z.string().min(8),
  GHL_SSO_KEY: z.string().min(8),
  GHL_API_BASE_URL: url.default("https://services.leadconnectorhq.com"),
  GHL_MARKETPLACE_URL: url.default("https://marketplace.gohighlevel.com"),
  GHL_SCOPES: z
    .string()
    .default(
      "contacts.readonly contacts.write conversations.readonly conversations.write conversations/message.readonly conversations/message.write locations.readonly oauth.readonly oauth.write users.readonly workflows.readonly",
    ),
  GHL_WEBHOOK_PUBLIC_KEY_ED25519: z.string().default(""),
  GHL_WEBHOOK_PUBLIC_KEY_RSA: z.string().default(""),
  GHL_CONVERSATION_PROVIDER_ID: z.string().default(""),
  GHL_DELIVERY_ALLOW_UNSIGNED: bool.default(false),
  // the header GHL's workflow calls carry (trigger subscriptions, the Send WhatsApp message
  // action; lib/workflows/workflow-call.ts); empty = those endpoints answer 404
  GHL_WORKFLOW_SECRET: z
    .string()
    .refine((s) => s === "" || s.length >= 24, "must be empty or at least 24 characters")
    .default(""),
  // panel sessions (SECURITY.md, items 7 and 8): absolute life from the SSO handshake, how recent a
  // handshake must be to mint keys or move the webhook, how often a session re-asks GHL about its
  // user, how long GHL's answer is reused, and how long a used SSO payload is remembered
  PANEL_SESSION_ABSOLUTE_S: z.coerce
    .number()
    .int()
    .min(60)
    .default(12 * 3600),
  PANEL_REAUTH_WINDOW_S: z.coerce.number().int().min(10).default(600),
  PANEL_USER_RECHECK_S: z.coerce.number().int().min(10).default(300),
  PANEL_ROLE_CACHE_S: z.coerce.number().int().min(1).max(3600).default(60),
  PANEL_SSO_REPLAY_TTL_S: z.coerce
    .number()
    .int()
    .min(60)
    .default(7 * 24 * 3600),
  // white-label origins allowed to frame the panel, on top of GHL's own (lib/http/frame-policy.ts)
  PANEL_FRAME_ANCESTORS: z.string().default(""),

  WA_WEBSOCKET_URL: url.default("wss://web.whatsapp.com/ws/chat"),
  WA_SANDBOX_ROOT_PUBLIC_KEY: z
    .string()
    .regex(/^([0-9a-f]{64})?$/i, "must be 64 hex characters")
    .default(""),
  WA_ALLOW_SANDBOX_IN_PRODUCTION: bool.default(false),
  WA_SANDBOX_MEDIA_CA_PEM: z.string().default(""),
  TEXT_DELAY_MS: int(1200),
  MEDIA_DELAY_MS_MIN: int(2500),
  MEDIA_DELAY_MS_MAX: int(6000),
  MEDIA_URL_ALLOWED_ORIGINS: origins,

  WORKER_HTTP_PORT: int(9464),
  WORKER_ID: z.string().default(""),
  LEASE_TTL_MS: int(15000),
  // how long a number may be reconnecting before it raises a "disconnected" alert (lib/alerts)
  ALERT_DISCONNECT_GRACE_MS: z.coerce.number().int().min(1000).default(120_000),
  // sharing numbers across workers (docs/architecture.md#sharing-numbers-between-workers)
  WORKER_CAPACITY: z.coerce.number().positive().max(1000).default(1),
  DRAIN_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
  HANDOVERS_PER_MINUTE: int(0),
  HOUSEKEEPING_EVERY_MS: z.coerce.number().int().min(1000).default(3_600_000),
  GHL_QUEUE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  METRICS_TOKEN: z.string().default(""),

  // quotas (SECURITY.md, item 10): numbers per location, and the direct API's rate limits per
  // API key and per location over a sliding window (0 = that limit off)
  MAX_INSTANCES_PER_LOCATION: z.coerce.number().int().min(1).max(10_000).default(10),
  API_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  API_RATE_LIMIT_PER_KEY: int(600),
  API_RATE_LIMIT_PER_LOCATION: int(1200),
  // live event streams (SSE) a location may hold open at once, across all app processes
  EVENTS_MAX_STREAMS_PER_LOCATION: z.coerce.number().int().min(1).max(10_000).default(50),
});

// Rules across variables, checked on the raw values so that they are reported together with
// every other problem (an object-level refinement would only run once all fields parse).
function crossFieldProblems(raw: Record<string, string>): string[] {
  const out: string[] = [];
  const min = Number(raw.MEDIA_DELAY_MS_MIN ?? 2500);
  const max = Number(raw.MEDIA_DELAY_MS_MAX ?? 6000);
  if (Number.isFinite(min) && Number.isFinite(max) && min > max)
    out.push("MEDIA_DELAY_MS_MIN: must not exceed MEDIA_DELAY_MS_MAX");
  const allowed = ["true", "1", "yes"].includes(raw.WA_ALLOW_SANDBOX_IN_PRODUCTION ?? "");
  if (raw.NODE_ENV === "production" && raw.WA_SANDBOX_ROOT_PUBLIC_KEY && !allowed) {
    out.push(
      "WA_SANDBOX_ROOT_PUBLIC_KEY: trusting a sandbox WhatsApp server in production needs WA_ALLOW_SANDBOX_IN_PRODUCTION=true",
    );
  }
  out.push(...productionProblems(raw));
  out.push(...keyIdProblems(raw));
  // an unsigned Delivery URL call is only as good as the secret in its path: a sandbox aid, never production
  if (raw.NODE_ENV === "production" && ["true", "1", "yes"].includes(raw.GHL_DELIVERY_ALLOW_UNSIGNED ?? "")) {
    out.push(
      "GHL_DELIVERY_ALLOW_UNSIGNED: unsigned Delivery URL calls are for the sandbox only and are refused in production (NODE_ENV=production); remove it and let GHL sign its calls",
    );
  }
  // removed in favour of an allow-list: a deployment that relied on it learns so at start
  if (["true", "1", "yes"].includes(raw.ALLOW_PRIVATE_MEDIA_URLS ?? "")) {
    out.push(
      "ALLOW_PRIVATE_MEDIA_URLS: no longer supported; list the origins that may be private in MEDIA_URL_ALLOWED_ORIGINS",
    );
  }
  return out;
}

// ---- Production guards (issue 14, low items: sandbox and dev-only settings) -------------------
// In production every sandbox-only or dev-only value below stops the process, each named. The
// sandbox running in production mode on one machine (the e2e, chaos and bench stacks) says so
// with WA_ALLOW_SANDBOX_IN_PRODUCTION=true. The sandbox's published Shared Secret is refused even
// then unless APP_URL is on loopback: with it anyone can forge a panel sign-in for any location.
// (GHL_DELIVERY_ALLOW_UNSIGNED is guarded elsewhere; WA_SANDBOX_ROOT_PUBLIC_KEY above.)

/** Shared Secrets and client secrets the sandbox publishes (scripts/lib/stack.mjs, .env.example, sandbox/ghl/config.ts). */
const SANDBOX_SECRETS = [
  "sandbox-shared-secret-0123456789",
  "sandbox-shared-secret",
  "sandbox-client-secret-0123456789",
  "sandbox-client-secret",
  "sandbox-workflow-secret-0123456789",
];
const OPT_IN = "WA_ALLOW_SANDBOX_IN_PRODUCTION=true";

function productionProblems(raw: Record<string, string>): string[] {
  if (raw.NODE_ENV !== "production") return [];
  const optedIn = ["true", "1", "yes"].includes(raw.WA_ALLOW_SANDBOX_IN_PRODUCTION ?? "");
  const out: string[] = [];
  const sandbox = (name: string, why: string) => {
    if (!optedIn) out.push(`${name}: ${why}; refused in production (a sandbox-only setting) unless ${OPT_IN}`);
  };
  const url = (name: string, secureScheme: string) => {
    const v = raw[name];
    if (!v) return;
    const u = parseUrl(v);
    if (!u) return; // malformed: the schema reports it
    if (isLocalHost(u.hostname)) sandbox(name, `${u.origin} is a loopback or private address (the sandbox)`);
    else if (u.protocol !== secureScheme) sandbox(name, `${u.origin} is not ${secureScheme.replace(":", "")}`);
  };
  url("APP_URL", "https:");
  url("GHL_API_BASE_URL", "https:");
  url("GHL_MARKETPLACE_URL", "https:");
  url("WA_WEBSOCKET_URL", "wss:");
  if (raw.WA_SANDBOX_MEDIA_CA_PEM)
    sandbox("WA_SANDBOX_MEDIA_CA_PEM", "trusts the sandbox media host's own certificate");
  for (const name of ["GHL_SSO_KEY", "GHL_CLIENT_SECRET", "GHL_WORKFLOW_SECRET"]) {
    if (SANDBOX_SECRETS.includes(raw[name] ?? "")) sandbox(name, "is the sandbox's published value");
  }
  const appHost = parseUrl(raw.APP_URL ?? "")?.hostname ?? "";
  if (optedIn && SANDBOX_SECRETS.includes(raw.GHL_SSO_KEY ?? "") && !isLoopbackHost(appHost)) {
    out.push(
      `GHL_SSO_KEY: is the sandbox's published Shared Secret (anyone can forge a panel sign-in with it); refused in production whenever APP_URL is not on loopback, ${OPT_IN} or not`,
    );
  }
  const frame = (raw.PANEL_FRAME_ANCESTORS ?? "").split(/[\s,]+/).filter(Boolean);
  const sandboxFrames = frame.filter((s) => /^http:\/\//i.test(s) || isLocalHost(hostOfSource(s)));
  if (sandboxFrames.length)
    sandbox(
      "PANEL_FRAME_ANCESTORS",
      `${sandboxFrames.join(" ")} ${sandboxFrames.length === 1 ? "is" : "are"} not https or on a loopback or private address (the sandbox's GHL page)`,
    );
  const media = (raw.MEDIA_URL_ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const loopbackMedia = media.filter((s) => isLoopbackHost(parseUrl(s)?.hostname ?? ""));
  if (loopbackMedia.length)
    sandbox(
      "MEDIA_URL_ALLOWED_ORIGINS",
      `${loopbackMedia.join(",")} ${loopbackMedia.length === 1 ? "is" : "are"} on loopback (the sandbox's simulators)`,
    );
  if (raw.NODE_TLS_REJECT_UNAUTHORIZED === "0")
    sandbox("NODE_TLS_REJECT_UNAUTHORIZED", "0 turns off TLS certificate checks for every outgoing connection");
  return out;
}

// One key id naming two keys would leave the values sealed with the other unreadable (lib/crypto.ts).
function keyIdProblems(raw: Record<string, string>): string[] {
  const byId = new Map<string, string>();
  for (const k of [raw.ENCRYPTION_KEY ?? "", ...(raw.ENCRYPTION_KEYS_PREVIOUS ?? "").split(",")]
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [id, b64 = ""] = k.split(":");
    const seen = byId.get(id);
    if (seen !== undefined && seen !== b64)
      return [`ENCRYPTION_KEYS_PREVIOUS: key id ${id} names two different keys; give the new key a new id`];
    byId.set(id, b64);
  }
  return [];
}

function parseUrl(v: string): URL | null {
  try {
    return new URL(v);
  } catch {
    return null;
  }
}

function hostOfSource(source: string): string {
  const m = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^/:]+)/i.exec(source);
  return m ? m[1] : "";
}

const bare = (host: string) => host.replace(/^\[|\]$/g, "").toLowerCase();

function isLoopbackHost(host: string): boolean {
  const h = bare(host);
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return h === "::1";
}

/** localhost, or an IP literal in a loopback, private or otherwise special range. */
function isLocalHost(host: string): boolean {
  const h = bare(host);
  return isLoopbackHost(h) || (isIP(h) !== 0 && isSpecialAddress(h));
}
// ---- end of production guards ----------------------------------------------------------------

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  - ${problems.join("\n  - ")}\nSee .env.example for every variable.`,
    );
    this.name = "EnvError";
  }
}

/** Parses a whole environment; throws one EnvError naming every missing or malformed variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // an empty string means "not set", as in most .env files
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== "")) as Record<
    string,
    string
  >;
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
