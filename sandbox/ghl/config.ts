import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";

export type ProviderMode = "sms" | "custom";

export interface GhlSimulatorOptions {
  port?: number; // 0 = ephemeral
  host?: string;
  clientId?: string; // GHL style: `<appId>-<suffix>`
  clientSecret?: string;
  ssoKey?: string; // the app's Shared Secret
  ed25519?: { publicKey: string; privateKey: string }; // PEM (SPKI / PKCS8)
  rsa?: { publicKey: string; privateKey: string }; // PEM (SPKI / PKCS8)
  rsaModulusLength?: number; // only when generating; GHL's own key is 4096
  appBaseUrl?: string;
  webhookUrl?: string;
  deliveryUrl?: string;
  panelUrl?: string;
  accessTokenTtlSeconds?: number;
  rateLimit?: { max: number; intervalMs: number; daily?: number };
  seed?: boolean;
  providerMode?: ProviderMode;
  conversationProviderId?: string;
  providerRaceMs?: number; // window after a delivery in which PUT status answers 403
  /** GHL resends a webhook or Delivery URL call answered 429 ~10 min apart (the default); tests may shorten it */
  webhookRetryDelayMs?: number;
  uploadMaxBytes?: number;
  locationTokenRefreshToken?: boolean; // whether /oauth/locationToken answers with a refresh_token too
  openapiDir?: string;
  /** the app's workflow URLs and the headers entered with them in the Marketplace (workflows.ts) */
  workflowSubscriptionUrl?: string;
  workflowActionUrls?: Record<string, string>;
  /** action key → its Dynamic field URL (the form GHL builds when the action is configured) */
  workflowActionFieldUrls?: Record<string, string>;
  workflowHeaders?: Record<string, string>;
}

export interface GhlSimulatorConfig {
  host: string;
  port: number;
  url: string; // filled once listening
  clientId: string;
  appId: string;
  clientSecret: string;
  ssoKey: string;
  versionId: string;
  publicKeys: { ed25519: string; rsa: string };
  privateKeys: { ed25519: string; rsa: string };
  appBaseUrl: string;
  webhookUrl: string;
  deliveryUrl: string;
  panelUrl: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  rateLimit: { max: number; intervalMs: number; daily: number };
  seed: boolean;
  providerMode: ProviderMode;
  conversationProviderId: string;
  providerRaceMs: number;
  webhookRetryDelayMs: number;
  /** GHL_MAX_RETRIES, not configurable: a test may hurry GHL's retries, not turn them off */
  readonly webhookMaxRetries: number;
  uploadMaxBytes: number;
  locationTokenRefreshToken: boolean;
  openapiDir: string;
  workflowSubscriptionUrl: string;
  workflowActionUrls: Record<string, string>;
  workflowActionFieldUrls: Record<string, string>;
  workflowHeaders: Record<string, string>;
}

/** The header value the sandbox's Marketplace listing sends with every workflow call, unless told otherwise. */
export const SANDBOX_WORKFLOW_SECRET = "sandbox-workflow-secret-0123456789";

// GHL resends a call answered 429 (and only that) up to 6 times, about 10 minutes apart (docs/ghl.md#webhook-retries).
export const GHL_MAX_RETRIES = 6;
export const GHL_RETRY_DELAY_MS = 600_000;

// GHL's OpenAPI files, copied unchanged into the repo so a plain clone validates against them.
const DEFAULT_OPENAPI_DIR = fileURLToPath(new URL("./reference/", import.meta.url));

let cachedKeys:
  | { ed25519: { publicKey: string; privateKey: string }; rsa: { publicKey: string; privateKey: string } }
  | undefined;

// Key generation (RSA especially) is slow; one pair per process is plenty for a sandbox.
function generatedKeys(rsaBits: number): NonNullable<typeof cachedKeys> {
  if (!cachedKeys) {
    cachedKeys = {
      ed25519: generateKeyPairSync("ed25519", {
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      }),
      rsa: generateKeyPairSync("rsa", {
        modulusLength: rsaBits,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      }),
    };
  }
  return cachedKeys!;
}

export function resolveConfig(o: GhlSimulatorOptions, defaultPort: number): GhlSimulatorConfig {
  const clientId = o.clientId ?? "6650f0sandbox-app";
  const appBaseUrl = (o.appBaseUrl ?? "http://127.0.0.1:3000").replace(/\/+$/, "");
  const ed = o.ed25519 ?? generatedKeys(o.rsaModulusLength ?? 2048).ed25519;
  const rsa = o.rsa ?? generatedKeys(o.rsaModulusLength ?? 2048).rsa;
  const host = o.host ?? "127.0.0.1";
  const port = o.port ?? defaultPort;
  return {
    host,
    port,
    url: `http://${host}:${port}`,
    clientId,
    appId: clientId.split("-")[0],
    clientSecret: o.clientSecret ?? "sandbox-client-secret",
    ssoKey: o.ssoKey ?? "sandbox-shared-secret",
    versionId: clientId.split("-")[0],
    publicKeys: { ed25519: ed.publicKey, rsa: rsa.publicKey },
    privateKeys: { ed25519: ed.privateKey, rsa: rsa.privateKey },
    appBaseUrl,
    webhookUrl: o.webhookUrl ?? `${appBaseUrl}/api/ghl/webhooks`,
    deliveryUrl: o.deliveryUrl ?? `${appBaseUrl}/api/ghl/delivery`,
    panelUrl: o.panelUrl ?? `${appBaseUrl}/panel`,
    accessTokenTtlSeconds: o.accessTokenTtlSeconds ?? 86399,
    refreshTokenTtlSeconds: 365 * 24 * 3600,
    rateLimit: {
      max: o.rateLimit?.max ?? 100,
      intervalMs: o.rateLimit?.intervalMs ?? 10_000,
      daily: o.rateLimit?.daily ?? 200_000,
    },
    seed: o.seed ?? false,
    providerMode: o.providerMode ?? "sms",
    conversationProviderId: o.conversationProviderId ?? "6650f0aa5a4db0c0ffee0001",
    providerRaceMs: o.providerRaceMs ?? 0,
    webhookRetryDelayMs: Math.max(1, o.webhookRetryDelayMs ?? GHL_RETRY_DELAY_MS),
    webhookMaxRetries: GHL_MAX_RETRIES,
    uploadMaxBytes: o.uploadMaxBytes ?? 25 * 1024 * 1024,
    locationTokenRefreshToken: o.locationTokenRefreshToken ?? true,
    openapiDir: o.openapiDir ?? DEFAULT_OPENAPI_DIR,
    workflowSubscriptionUrl: o.workflowSubscriptionUrl ?? `${appBaseUrl}/api/ghl/workflows/subscription`,
    workflowActionUrls: o.workflowActionUrls ?? {
      whatsapp_send_message: `${appBaseUrl}/api/ghl/workflows/send-message`,
    },
    workflowActionFieldUrls: o.workflowActionFieldUrls ?? {
      whatsapp_send_message: `${appBaseUrl}/api/ghl/workflows/send-message/fields`,
    },
    workflowHeaders: o.workflowHeaders ?? { "x-gw-workflow-secret": SANDBOX_WORKFLOW_SECRET },
  };
}
