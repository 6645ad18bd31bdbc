import { startGhlSimulator } from "./server";

// Standalone: `npx tsx sandbox/ghl/main.ts`. Settings come from the environment so the launcher
// (or a developer) can point it at an app without code.
const env = process.env;
const sim = await startGhlSimulator({
  port: env.GHL_SANDBOX_PORT ? Number(env.GHL_SANDBOX_PORT) : 4010,
  host: env.GHL_SANDBOX_HOST ?? "127.0.0.1",
  appBaseUrl: env.APP_BASE_URL ?? "http://127.0.0.1:3000",
  clientId: env.GHL_CLIENT_ID,
  clientSecret: env.GHL_CLIENT_SECRET,
  ssoKey: env.GHL_SSO_KEY,
  providerMode: env.GHL_PROVIDER_MODE === "custom" ? "custom" : "sms",
  conversationProviderId: env.GHL_CONVERSATION_PROVIDER_ID,
  accessTokenTtlSeconds: env.GHL_ACCESS_TOKEN_TTL_SECONDS ? Number(env.GHL_ACCESS_TOKEN_TTL_SECONDS) : undefined,
  seed: env.GHL_SANDBOX_SEED !== "false",
});
const c = sim.config;
process.stdout.write(
  [
    `GHL simulator listening on ${sim.url}`,
    `  choose-location  ${sim.url}/v2/oauth/chooselocation`,
    `  GHL_API_BASE_URL=${sim.url}`,
    `  GHL_MARKETPLACE_URL=${sim.url}`,
    `  GHL_CLIENT_ID=${c.clientId}`,
    `  GHL_CLIENT_SECRET=${c.clientSecret}`,
    `  GHL_SSO_KEY=${c.ssoKey}`,
    `  GHL_CONVERSATION_PROVIDER_ID=${c.conversationProviderId}  (provider mode: ${c.providerMode})`,
    `  webhooks → ${c.webhookUrl}`,
    `  delivery → ${c.deliveryUrl}`,
    `  panel    → ${c.panelUrl}`,
    `  GHL_WEBHOOK_PUBLIC_KEY_ED25519:\n${c.publicKeys.ed25519}`,
    `  GHL_WEBHOOK_PUBLIC_KEY_RSA:\n${c.publicKeys.rsa}`,
  ].join("\n") + "\n",
);
const stop = () => void sim.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
