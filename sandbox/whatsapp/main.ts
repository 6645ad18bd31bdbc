// Standalone WhatsApp simulator: `npx tsx sandbox/whatsapp/main.ts [port]` (or PORT=…; default 4020, 0 = any).
import { startWaSimulator } from "./server";

async function main() {
  const arg = process.argv[2] ?? process.env.PORT;
  const port = arg === undefined ? 4020 : Number(arg);
  if (!Number.isInteger(port) || port < 0) throw new Error(`bad port ${arg}`);
  const sim = await startWaSimulator({ port, host: process.env.HOST ?? "127.0.0.1" });
  process.stdout.write(
    `WhatsApp simulator ${sim.url} (WebSocket ${sim.wsUrl})\nroot public key ${sim.rootPublicKey}\n`,
  );
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`WhatsApp simulator failed to start: ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
