// Launches both simulators for `npm run dev` and the e2e tests, and writes what the product
// must be configured with (URLs, public keys) to SANDBOX_RUNTIME_FILE. Imports nothing from the
// product: configuration reaches it only through that file and the environment.
import { writeFileSync, renameSync } from "node:fs";
import { startGhlSimulator } from "./ghl/server";
import { startWaSimulator } from "./whatsapp/server";

const num = (v: string | undefined, d: number) => (v ? Number(v) : d);

async function main() {
  const e = process.env;
  const appBaseUrl = e.SANDBOX_APP_URL ?? "http://127.0.0.1:3000";
  const wa = await startWaSimulator({ port: num(e.SANDBOX_WA_PORT, 4020), host: "127.0.0.1" });
  const ghl = await startGhlSimulator({
    port: num(e.SANDBOX_GHL_PORT, 4010),
    host: "127.0.0.1",
    appBaseUrl,
    clientId: e.SANDBOX_CLIENT_ID ?? "6650f0a1b2c3d4e5f6a7b8c9-sandbox",
    clientSecret: e.SANDBOX_CLIENT_SECRET ?? "sandbox-client-secret-0123456789",
    ssoKey: e.SANDBOX_SSO_KEY ?? "sandbox-shared-secret-0123456789",
    conversationProviderId: e.SANDBOX_PROVIDER_ID ?? "sandbox-provider-0001",
    seed: true,
  });
  const runtime = {
    ghl: {
      url: ghl.url,
      ed25519PublicKeyPem: ghl.config.ed25519PublicKeyPem,
      rsaPublicKeyPem: ghl.config.rsaPublicKeyPem,
      locations: ghl.config.locations ?? [],
    },
    wa: { url: wa.url, wsUrl: wa.wsUrl, rootPublicKey: wa.rootPublicKey, clientEnv: wa.clientEnv ?? {} },
  };
  if (e.SANDBOX_RUNTIME_FILE) {
    // write then rename so a reader never sees half a file
    writeFileSync(`${e.SANDBOX_RUNTIME_FILE}.tmp`, JSON.stringify(runtime, null, 2));
    renameSync(`${e.SANDBOX_RUNTIME_FILE}.tmp`, e.SANDBOX_RUNTIME_FILE);
  }
  process.stdout.write(`GHL simulator ${ghl.url}\nWhatsApp simulator ${wa.url} (${wa.wsUrl})\n`);
  const stop = async () => {
    await Promise.allSettled([ghl.close(), wa.close()]);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`sandbox failed to start: ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
