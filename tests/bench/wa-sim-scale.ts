// Scale check for the WhatsApp simulator (not part of `npm test`):
//   npx tsx tests/bench/wa-sim-scale.ts [devices=1000] [concurrency=20] [openAtOnce=200]
// Starts the simulator in its own process, links `devices` real Baileys clients to it (QR scan,
// 515 restart, login, pre-key upload), then holds `openAtOnce` of them connected at the same time
// and has each send one message. Prints the simulator's resident memory after each phase.
import { spawn } from "node:child_process";
import type { WASocket } from "@whiskeysockets/baileys";
import type { WaSimulator } from "../../sandbox/whatsapp/server";
import {
  connectClient,
  control,
  endClient,
  linkByQr,
  type MemoryAuth,
  memoryAuth,
  waitOpen,
} from "../../sandbox/whatsapp/test-kit";

const [devices = 1000, concurrency = 20, openAtOnce = 200] = process.argv.slice(2).map(Number);

let stopSimulator = () => {};

async function main() {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "sandbox/whatsapp/main.ts", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  stopSimulator = () => child.kill("SIGTERM");
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      const m = /WhatsApp simulator (http:\/\/\S+)/.exec(d.toString());
      if (m) resolve(m[1]);
    });
    child.on("exit", () => reject(new Error("simulator exited")));
  });
  const health = (await (await fetch(`${url}/__sandbox/health`)).json()) as {
    rootPublicKey: string;
    mediaCaPem: string;
  };
  const sim = {
    url,
    wsUrl: `${url.replace("http", "ws")}/ws/chat`,
    rootPublicKey: health.rootPublicKey,
    mediaCaPem: health.mediaCaPem,
  } as WaSimulator;
  // the simulator runs with --expose-gc, so the heap it reports is live data, not garbage
  const rss = async () => {
    const { memory } = (await (await fetch(`${url}/__sandbox/health`)).json()) as {
      memory: { rssMb: number; heapUsedMb: number };
    };
    return `rss ${memory.rssMb} MB, live heap ${memory.heapUsedMb} MB`;
  };
  process.stdout.write(`simulator ${url}, pid ${child.pid}, ${await rss()}\n`);

  const auths: MemoryAuth[] = [];
  const phones = Array.from({ length: devices }, (_, i) => String(16000000000 + i));
  let t = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < phones.length) {
        const i = next++;
        // generous timeouts: on a small machine the clients, not the simulator, are the bottleneck
        const { sock, auth } = await linkByQr(sim, phones[i], memoryAuth(), 60_000);
        auths[i] = auth;
        endClient(sock);
        if ((i + 1) % 100 === 0)
          process.stdout.write(
            `  linked ${i + 1} (${Math.round((Date.now() - t) / 1000)} s, simulator ${await rss()})\n`,
          );
      }
    }),
  );
  const linked = (await control<unknown[]>(sim, "GET", "/__sandbox/devices")).body.length;
  process.stdout.write(
    `linked ${linked} devices in ${Math.round((Date.now() - t) / 1000)} s; simulator ${await rss()}\n`,
  );

  const contact = "19990000000";
  await control(sim, "POST", "/__sandbox/phones", { phone: contact });
  t = Date.now();
  const socks: WASocket[] = [];
  const open = Math.min(openAtOnce, devices);
  next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < open) {
        const i = next++;
        const sock = connectClient(sim, auths[i]);
        await waitOpen(sock, 60_000);
        socks.push(sock);
      }
    }),
  );
  await Promise.all(socks.map((s, i) => s.sendMessage(`${contact}@s.whatsapp.net`, { text: `hello ${i}` })));
  await new Promise((r) => setTimeout(r, 1000));
  const inbox = (await control<unknown[]>(sim, "GET", `/__sandbox/phones/${contact}/inbox`)).body.length;
  const connected = (await control<{ connected: boolean }[]>(sim, "GET", "/__sandbox/devices")).body.filter(
    (d) => d.connected,
  ).length;
  process.stdout.write(
    `${connected} connected at once (${Math.round((Date.now() - t) / 1000)} s), ${inbox}/${open} messages decrypted by the contact; simulator ${await rss()}\n`,
  );
  for (const s of socks) endClient(s);
  child.kill("SIGTERM");
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  stopSimulator();
  process.exit(1);
});
