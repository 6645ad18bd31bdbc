// Launches both simulators for `npm run dev` and the e2e tests, and writes what the product
// must be configured with (URLs, public keys) to SANDBOX_RUNTIME_FILE. Imports nothing from the
// product: configuration reaches it only through that file and the environment.
import { renameSync, writeFileSync } from "node:fs";
import { startGhlSimulator } from "./ghl/server";
import { startWaSimulator } from "./whatsapp/server";

const num = (v: string | undefined, d: number) => (v ? Number(v) : d);

// libsignal prints whole session records (private keys included) with console.info/warn; the
// simulated phones' keys are not secrets, but the lines drown the dev and test output
for (const level of ["info", "warn"] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    if (
      typeof args[0] === "string" &&
      /^(Closing session|Opening session|Removing old closed session|Session already|Migrating session|Closing open session in favor)/.test(
        args[0],
      )
    )
      return;
    original(...args);
  };
}

async function main() {
  const e = process.env;
  const appBaseUrl = e.SANDBOX_APP_URL ?? "http://127.0.0.1:3000";
  const wa = await startWaSimulator({ port: num(e.SANDBOX_WA_PORT, 4020), host: "127.0.0.1" });
  const ghl = await startGhlSimulator({
    port: num(e.SANDBOX_GHL_PORT, 4010),
    host: "127.0.0.1",
    appBaseUrl,
    clientId: e.SANDBOX_CLIENT_ID,
    clientSecret: e.SANDBOX_CLIENT_SECRET,
    ssoKey: e.SANDBOX_SSO_KEY,
    conversationProviderId: e.SANDBOX_PROVIDER_ID,
    seed: true,
  });
  const locations = (await (await fetch(`${ghl.url}/__sandbox/locations`)).json()) as unknown;
  const runtime = {
    ghl: {
      url: ghl.url,
      ed25519PublicKeyPem: ghl.config.publicKeys.ed25519,
      rsaPublicKeyPem: ghl.config.publicKeys.rsa,
      locations: Array.isArray(locations) ? locations : ((locations as { locations?: unknown[] }).locations ?? []),
    },
    wa: waRuntime(wa),
  };
  if (e.SANDBOX_RUNTIME_FILE) {
    // write then rename so a reader never sees half a file
    writeFileSync(`${e.SANDBOX_RUNTIME_FILE}.tmp`, JSON.stringify(runtime, null, 2));
    renameSync(`${e.SANDBOX_RUNTIME_FILE}.tmp`, e.SANDBOX_RUNTIME_FILE);
  }
  process.stdout.write(`GHL simulator ${ghl.url}\nWhatsApp simulator ${runtime.wa.url} (${runtime.wa.wsUrl})\n`);
  const stop = async () => {
    await Promise.allSettled([ghl.close(), wa.close()]);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function waRuntime(wa: Awaited<ReturnType<typeof startWaSimulator>>) {
  const w = wa as unknown as { url: string; wsUrl: string; rootPublicKey: string; clientEnv?: Record<string, string> };
  return { url: w.url, wsUrl: w.wsUrl, rootPublicKey: w.rootPublicKey, clientEnv: w.clientEnv ?? {} };
}

main().catch((err) => {
  process.stderr.write(`sandbox failed to start: ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
