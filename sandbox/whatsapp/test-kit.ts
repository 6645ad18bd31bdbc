// Helpers for tests that drive the real Baileys client against the simulator.

import { Agent } from "node:https";
import makeWASocket, {
  type AuthenticationCreds,
  type BaileysEventMap,
  Browsers,
  initAuthCreds,
  type SignalDataTypeMap,
  type SignalKeyStore,
  type UserFacingSocketConfig,
  WA_CERT_DETAILS,
  type WASocket,
} from "@whiskeysockets/baileys";
import pino from "pino";
import { mediaHostDispatcher } from "./media-dispatcher";
import type { WaSimulator } from "./server";

/** Auth state that lives in memory, so a "restart" is a new socket over the same object. */
export interface MemoryAuth {
  creds: AuthenticationCreds;
  keys: SignalKeyStore;
}

export function memoryAuth(): MemoryAuth {
  const store = new Map<string, unknown>();
  const keys: SignalKeyStore = {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const v = store.get(`${type}:${id}`);
        if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
      }
      return out;
    },
    async set(data) {
      for (const [type, entries] of Object.entries(data)) {
        for (const [id, v] of Object.entries(entries ?? {})) {
          if (v == null) store.delete(`${type}:${id}`);
          else store.set(`${type}:${id}`, v);
        }
      }
    },
  };
  return { creds: initAuthCreds(), keys };
}

// WA_SIM_CLIENT_LOG=/tmp/x.log makes the client log at trace level there, for debugging a test
const clientLog = process.env.WA_SIM_CLIENT_LOG;
const silent = clientLog ? pino({ level: "trace" }, pino.destination(clientLog)) : pino({ level: "silent" });

/** Client options a test may vary; everything else is fixed by README.md "Client configuration". */
export interface ClientOptions {
  /** the store Baileys answers retry receipts from (rc14's default finds nothing) */
  getMessage?: UserFacingSocketConfig["getMessage"];
  /** rc14 keeps the last 512 sent messages for 5 min per socket and answers retries from them */
  enableRecentMessageCache?: boolean;
  /** process the phone's history sync (rc14's default filter), downloading it from the simulator */
  history?: boolean;
  /** called with each socket as soon as it exists (to listen before anything arrives) */
  onSocket?: (sock: WASocket) => void;
}

/** A Baileys socket configured exactly as README.md "Client configuration" says a sandbox client must be. */
export function connectClient(sim: WaSimulator, auth: MemoryAuth, opts: ClientOptions = {}): WASocket {
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(sim.rootPublicKey, "hex");
  const sock = makeWASocket({
    auth,
    waWebSocketUrl: sim.wsUrl,
    fetchAgent: new Agent({ ca: sim.mediaCaPem }),
    logger: silent,
    browser: Browsers.ubuntu("Chrome"),
    markOnlineOnConnect: false,
    ...(opts.history
      ? { options: { dispatcher: mediaHostDispatcher(new URL(sim.url).host, sim.mediaCaPem) } as RequestInit }
      : { shouldSyncHistoryMessage: () => false }),
    syncFullHistory: false,
    connectTimeoutMs: 10_000,
    keepAliveIntervalMs: 30_000,
    ...(opts.getMessage ? { getMessage: opts.getMessage } : {}),
    ...(opts.enableRecentMessageCache === undefined ? {} : { enableRecentMessageCache: opts.enableRecentMessageCache }),
  });
  sock.ev.on("creds.update", (u) => Object.assign(auth.creds, u));
  opts.onSocket?.(sock);
  return sock;
}

export function waitFor<K extends keyof BaileysEventMap>(
  sock: WASocket,
  event: K,
  pred: (d: BaileysEventMap[K]) => boolean,
  ms = 10_000,
): Promise<BaileysEventMap[K]> {
  return new Promise((resolve, reject) => {
    const handler = (d: BaileysEventMap[K]) => {
      let done: boolean;
      try {
        done = pred(d);
      } catch (e) {
        clearTimeout(timer);
        sock.ev.off(event, handler);
        return reject(e);
      }
      if (!done) return;
      clearTimeout(timer);
      sock.ev.off(event, handler);
      resolve(d);
    };
    const timer = setTimeout(() => {
      sock.ev.off(event, handler);
      reject(new Error(`timed out after ${ms} ms waiting for ${String(event)}`));
    }, ms);
    sock.ev.on(event, handler);
  });
}

export function closeCode(u: BaileysEventMap["connection.update"]): number | undefined {
  return (u.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
}

export async function control<T = unknown>(
  sim: WaSimulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Link a fresh client by QR and return it open, logged in with the stored creds. */
export async function linkByQr(
  sim: WaSimulator,
  phone: string,
  auth = memoryAuth(),
  ms = 10_000,
  opts: ClientOptions = {},
): Promise<{ sock: WASocket; auth: MemoryAuth }> {
  await control(sim, "POST", "/__sandbox/phones", { phone });
  const first = connectClient(sim, auth, opts);
  const { qr } = await waitFor(first, "connection.update", (u) => !!u.qr, ms);
  const closed = waitFor(first, "connection.update", (u) => u.connection === "close", ms);
  const scan = await control(sim, "POST", `/__sandbox/phones/${phone}/scan`, { qr });
  if (scan.status !== 200) throw new Error(`scan failed: ${JSON.stringify(scan.body)}`);
  const code = closeCode(await closed);
  if (code !== 515) throw new Error(`expected the 515 restart after pairing, got ${code}`);
  const sock = connectClient(sim, auth, opts);
  await waitOpen(sock, ms);
  // the phone sends a new companion its history right after linking: wait until it is in and
  // acknowledged, so that a test's next stanza is the one it expects
  await until("the phone's history sync delivered", async () => {
    const d = (
      await control<{ jid: string; historySyncs: number; unacked: number }[]>(sim, "GET", "/__sandbox/devices")
    ).body.find((x) => x.jid.startsWith(`${phone}:`));
    return (d?.historySyncs ?? 0) > 0 && d?.unacked === 0;
  });
  return { sock, auth };
}

/** Open and past the offline queue; Baileys may emit the two in either order (its event buffer). */
export async function waitOpen(sock: WASocket, ms = 10_000): Promise<void> {
  let open = false;
  let flushed = false;
  await waitFor(
    sock,
    "connection.update",
    (u) => {
      if (u.connection === "open") open = true;
      if (u.receivedPendingNotifications) flushed = true;
      if (u.connection === "close") throw new Error(`closed with ${closeCode(u)} while waiting for open`);
      return open && flushed;
    },
    ms,
  );
}

/**
 * The client's process dies the moment a stanza with this tag arrives: the socket is torn down
 * and Baileys never sees that stanza (nor anything after it), so it never answers it. Once only.
 */
export function dieOnNext(sock: WASocket, tag: "message" | "receipt" | "notification"): void {
  const ws = sock.ws as unknown as {
    emit(event: string, ...args: unknown[]): boolean;
    socket: { terminate(): void } | null;
  };
  const emit = ws.emit.bind(ws);
  let dead = false;
  ws.emit = (event, ...args) => {
    // Baileys emits each decoded stanza as "frame" first, then as the CB:… events it handles
    if (!dead && event === "frame" && (args[0] as { tag?: string } | undefined)?.tag === tag) {
      dead = true;
      ws.socket?.terminate();
    }
    if (dead && (event === "frame" || event.startsWith("CB:"))) return true;
    return emit(event, ...args);
  };
}

/** Polls `check` (every 50 ms, up to 10 s) until it holds; for state the simulator reports. */
export async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

export function endClient(sock: WASocket): void {
  sock.ev.removeAllListeners(undefined as never);
  sock.end(undefined);
}
