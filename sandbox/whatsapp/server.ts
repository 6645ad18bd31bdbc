// The WhatsApp server simulator: the Noise WebSocket at /ws/chat, the control API under
// /__sandbox/ and the media host, all on one port. TLS and plain HTTP share that port (the
// first byte tells them apart) because Baileys uploads media over https only.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { WebSocketServer } from "ws";
import { Connection } from "./connection";
import { handleControl } from "./control-routes";
import { handleMedia } from "./media-routes";
import { MediaStore } from "./media-store";
import { createServerIdentity } from "./server-identity";
import type { Sim } from "./sim";
import { SimState } from "./state";
import { createSelfSignedCert } from "./tls-cert";

export interface WaSimulatorOptions {
  /** 0 picks a free port; the standalone default is 4020 */
  port?: number;
  host?: string;
}

export interface WaSimulator {
  /** http base of the control API and media host, e.g. http://127.0.0.1:4020 */
  url: string;
  /** what the client passes as `waWebSocketUrl` */
  wsUrl: string;
  /** hex of the root key a client must put in WA_CERT_DETAILS.PUBLIC_KEY */
  rootPublicKey: string;
  /** PEM of the self-signed certificate the media host presents; trust it for uploads */
  mediaCaPem: string;
  /** environment a sandbox client is started with (see README, Client configuration) */
  clientEnv: Record<string, string>;
  close(): Promise<void>;
}

const TLS_HANDSHAKE = 0x16;

export async function startWaSimulator(opts: WaSimulatorOptions = {}): Promise<WaSimulator> {
  const host = opts.host ?? "127.0.0.1";
  const tls = createSelfSignedCert();
  let port = opts.port ?? 4020;
  const sim: Sim = {
    state: new SimState(),
    identity: createServerIdentity(),
    media: new MediaStore(),
    mediaCaPem: tls.certPem,
    mediaHost: () => `${host}:${port}`,
    pendingRefs: new Map(),
    pendingCodes: new Map(),
    connections: new Set(),
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // no keep-alive: a busy test process can reuse an idle connection just as the server times it
    // out ("fetch failed"); a fresh loopback connection per control call costs nothing
    res.setHeader("connection", "close");
    route(sim, req, res).catch((e: unknown) => {
      // never console.error: the tests treat it as a failure; a 500 tells the caller enough
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "internal", message: e instanceof Error ? e.message : String(e) } }));
    });
  };
  const http = createHttpServer(onRequest);
  const https = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  wss.on("connection", (ws) => new Connection(sim, ws));
  for (const s of [http, https]) {
    s.on("upgrade", (req, socket, head) => {
      if (new URL(req.url ?? "/", "http://x").pathname !== "/ws/chat") return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    });
  }

  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (first) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? https : http).emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(port, host, () => resolve());
  });
  port = (front.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  const rootPublicKey = sim.identity.root.public.toString("hex");
  return {
    url,
    wsUrl: `ws://${host}:${port}/ws/chat`,
    rootPublicKey,
    mediaCaPem: tls.certPem,
    clientEnv: { WA_SANDBOX_MEDIA_CA_PEM: tls.certPem },
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}

async function route(sim: Sim, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (path.startsWith("/__sandbox/") && (await handleControl(sim, req, res, path))) return;
  if (await handleMedia(sim, req, res)) return;
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code: "not_found", message: `no route ${req.method} ${path}` } }));
}
