// Helpers for the key-store tests (wa-keystore-outage, wa-tctoken): a Baileys socket on any auth
// state with a logger that counts what the client did (privacy-token issuance IQs it sent,
// decryption failures it logged), and a Postgres connection that can be cut and restored.

import { Agent } from "node:https";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import makeWASocket, {
  type AuthenticationState,
  type BaileysEventMap,
  Browsers,
  proto,
  WA_CERT_DETAILS,
  type WASocket,
} from "@whiskeysockets/baileys";
import type { WaSimulator } from "@/sandbox/whatsapp/server";

/** What the counting logger saw; reset by the caller when a phase starts. */
export type ClientCounts = {
  /** `<iq xmlns="privacy" type="set"><tokens><token jid=…>` the client sent, per token jid */
  issuances: Map<string, number>;
  /** Baileys' "failed to decrypt message" log lines */
  decryptFailures: number;
  /** messages.upsert entries with messageStubType CIPHERTEXT (1) */
  ciphertextStubs: number;
  /** every error-level line, for the test's diagnostics */
  errors: string[];
  /** "fire-and-forget tctoken issuance failed" debug lines */
  issuanceFailures: number;
  /** retry receipts the client got (a contact could not decrypt its copy): "recv retry request…" */
  retryRequests: number;
};

export function newCounts(): ClientCounts {
  return {
    issuances: new Map(),
    decryptFailures: 0,
    ciphertextStubs: 0,
    errors: [],
    issuanceFailures: 0,
    retryRequests: 0,
  };
}

type Fields = Record<string, unknown>;
/**
 * A Baileys logger (the ILogger shape: level, child, trace…error) that counts instead of printing.
 * At level "trace" Baileys logs every stanza it sends ("xml send"), which is how issuance IQs are
 * counted client-side. `echo` prints error lines when WA_KEYSTORE_DEBUG is set.
 */
export function countingLogger(c: ClientCounts, level: "trace" | "debug" = "trace") {
  const echo = !!process.env.WA_KEYSTORE_DEBUG;
  const see = (lvl: string, a: unknown, b?: unknown) => {
    const obj = (typeof a === "object" && a ? a : {}) as Fields;
    const msg = typeof a === "string" ? a : typeof b === "string" ? b : ((obj.msg as string | undefined) ?? "");
    if (
      msg === "xml send" &&
      typeof obj.xml === "string" &&
      /^<iq [^>]*xmlns=['"]privacy['"]/.test(obj.xml) &&
      /type=['"]set['"]/.test(obj.xml)
    ) {
      for (const m of obj.xml.matchAll(/<token [^>]*jid=['"]([^'"]+)['"]/g))
        c.issuances.set(m[1], (c.issuances.get(m[1]) ?? 0) + 1);
    }
    if (process.env.WA_KEYSTORE_DUMP)
      console.log(
        "LOG",
        lvl,
        msg,
        msg.includes("xml") ? String(obj.xml).slice(0, 160).replace(/\s+/g, " ") : JSON.stringify(obj).slice(0, 200),
      );
    if (msg === "failed to decrypt message") c.decryptFailures++;
    if (msg === "fire-and-forget tctoken issuance failed") c.issuanceFailures++;
    if (msg.startsWith("recv retry request")) c.retryRequests++;
    if (lvl === "error") {
      const err = (obj.err ?? obj.error) as { message?: string } | undefined;
      const line = `${msg}${err?.message ? `: ${err.message}` : ""}`;
      c.errors.push(line);
      if (echo) console.warn("[baileys error]", line);
    }
  };
  const make = (): Fields => ({
    level,
    child: () => make(),
    trace: (a: unknown, b?: unknown) => see("trace", a, b),
    debug: (a: unknown, b?: unknown) => see("debug", a, b),
    info: (a: unknown, b?: unknown) => see("info", a, b),
    warn: (a: unknown, b?: unknown) => see("warn", a, b),
    error: (a: unknown, b?: unknown) => see("error", a, b),
    fatal: (a: unknown, b?: unknown) => see("error", a, b),
  });
  return make() as never;
}

/** A socket configured as the worker configures it (instance-session.ts), on the given auth state. */
export function connectWith(
  sim: WaSimulator,
  auth: AuthenticationState,
  logger: unknown,
  onCreds: () => void,
): WASocket {
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(sim.rootPublicKey, "hex");
  const sock = makeWASocket({
    auth,
    waWebSocketUrl: sim.wsUrl,
    fetchAgent: new Agent({ ca: sim.mediaCaPem }),
    logger: logger as never,
    browser: Browsers.ubuntu("Chrome"),
    markOnlineOnConnect: false,
    shouldSyncHistoryMessage: () => false,
    syncFullHistory: false,
    connectTimeoutMs: 20_000,
    keepAliveIntervalMs: 30_000,
  });
  sock.ev.on("creds.update", onCreds);
  return sock;
}

/** Counts CIPHERTEXT stubs (messageStubType 1) the socket emits. */
export function countStubs(sock: WASocket, c: ClientCounts): void {
  sock.ev.on("messages.upsert", (u: BaileysEventMap["messages.upsert"]) => {
    for (const m of u.messages) if (m.messageStubType === proto.WebMessageInfo.StubType.CIPHERTEXT) c.ciphertextStubs++;
  });
}

/**
 * A TCP proxy in front of Postgres: a Prisma client pointed at `url` loses its database for real
 * when `cut()` is called (every open connection is destroyed, new ones are refused), as in an
 * outage, and gets it back with `restore()`. The failures come from the pg driver itself.
 */
export async function pgProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
