import { Agent, buildConnector } from "undici";

// Against the WhatsApp simulator only (WA_SANDBOX_ROOT_PUBLIC_KEY set): Baileys fetches history
// sync blobs by `directPath` from WhatsApp's media host (https://mmg.whatsapp.net…), which the
// sandbox cannot be. This dispatcher (Baileys' `options.dispatcher`) connects those downloads to
// the simulator's host, the one the WebSocket URL names, trusting its media CA
// (docs/whatsapp.md#history-sync, sandbox/whatsapp/README.md "Client configuration").
export function sandboxMediaDispatcher(wsUrl: string, caPem: string): Agent {
  const u = new URL(wsUrl);
  const hostname = u.hostname;
  const port = u.port || (u.protocol === "wss:" ? "443" : "80");
  const connector = buildConnector({ ca: caPem });
  return new Agent({
    connect: (opts, cb) =>
      connector(
        { ...opts, hostname, host: `${hostname}:${port}`, port, protocol: "https:", servername: undefined },
        cb,
      ),
  });
}
