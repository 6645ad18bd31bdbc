import type { Agent } from "node:https";
import makeWASocket, {
  type BinaryNode,
  Browsers,
  jidDecode,
  proto,
  type WAMessage,
  type WAMessageKey,
  type WASocket,
  type WAVersion,
} from "@whiskeysockets/baileys";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Keyring } from "@/lib/crypto";
import type { Db } from "@/lib/db";
import type { InstanceStatusValue } from "@/lib/enum-schemas";
import { pairingRequestKey } from "@/lib/instances/control";
import { clearLinkCodes, storePairingCode, storeQr } from "@/lib/instances/link-codes";
import { metrics } from "@/lib/ops/metrics";
import { loadAuthState, type PgAuthState } from "./auth-state";
import { type BackoffOptions, decideOnClose } from "./reconnect-policy";
import { type StoreBeforeAck, storeBeforeAck } from "./store-before-ack";

const reconnects = metrics().counter("gw_wa_reconnects_total", "WhatsApp socket reconnects by close code");

import { StatusWriter } from "./status-writer";

// One instance's socket lifecycle on the worker that holds its lease: connect, relink after 515,
// back off on transient closes, stop on logout/ban/QR expiry. The manager owns the lease; this
// class only asks it (holdsLease) before fighting a 440.

export type SessionContext = { instanceId: string; locationId: string };
export type SocketHooks = {
  /**
   * the socket was just created, before anything can arrive on it: wire the message and receipt
   * handlers here (Baileys may emit WhatsApp's offline replay before "open")
   */
  onSocket?: (ctx: SessionContext, sock: WASocket, early: StoreBeforeAck) => void;
  /** a decrypted 1:1 message, before Baileys acknowledges it: resolve once it is durable */
  storeFirst?: (ctx: SessionContext, sock: WASocket, m: WAMessage, alive: () => boolean) => Promise<void>;
  /** a receipt stanza, before Baileys sees (and acknowledges) it: true once durable */
  receiptFirst?: (ctx: SessionContext, sock: WASocket, node: BinaryNode, alive: () => boolean) => Promise<boolean>;
  /** a 1:1 message stanza that did not decrypt, before Baileys asks the sender again and goes on */
  undecryptable?: (ctx: SessionContext, node: BinaryNode) => Promise<void>;
  /** WhatsApp's offline replay is being worked through (called at most every 500 ms while it lasts) */
  replaying?: (ctx: SessionContext) => void;
  /** the content of a message this number sent, for answering a contact's retry request */
  getMessage?: (ctx: SessionContext, key: WAMessageKey) => Promise<proto.IMessage | undefined>;
  /** the socket is open (ONLINE): start the send loop */
  onOpen?: (ctx: SessionContext, sock: WASocket) => void;
  /**
   * the socket is gone (any reason): stop using it. May resolve once no send for this number is
   * in flight any more; a graceful stop waits for that before the lease is handed on.
   */
  onClose?: (ctx: SessionContext) => void | Promise<void>;
};

export type SessionDeps = {
  db: Db;
  redis: Redis;
  log: Logger;
  /** Baileys' own logger (a child at warn: it is chatty and logs payloads at lower levels) */
  baileysLog: Logger;
  wsUrl: string;
  fetchAgent?: Agent;
  /** where Baileys' downloads by directPath go (the sandbox's media host); unset = WhatsApp's */
  fetchDispatcher?: unknown;
  keys?: Keyring;
  backoff: BackoffOptions;
  /** reconnect when `receivedPendingNotifications` has not come this long after open */
  watchdogMs: number;
  /** Baileys' per-QR lifetime override (tests); unset = 60 s, then 20 s */
  qrTimeoutMs?: number;
  msgRetryCounterCache?: unknown;
  /** the WhatsApp Web version to announce; undefined = the one bundled with Baileys */
  version?: () => WAVersion | undefined;
  holdsLease: (instanceId: string) => Promise<boolean>;
  hooks?: SocketHooks;
  /** a reconnect lasting longer raises a "disconnected" alert (ALERT_DISCONNECT_GRACE_MS) */
  alertGraceMs?: number;
};

export type EndReason = "stopped" | "lease-lost" | "terminal";

export class InstanceSession {
  private auth?: PgAuthState;
  private sock?: WASocket;
  private failures = 0;
  private qrCount = 0;
  private ended = false;
  private reconnectTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private status: StatusWriter;
  private log: Logger;
  private sendsSettled?: Promise<void>;
  online = false;

  constructor(
    private d: SessionDeps,
    readonly ctx: SessionContext,
    /** tells the manager the session is over (release the lease, forget it) */
    private onEnded: (s: InstanceSession, reason: EndReason) => void,
  ) {
    this.log = d.log.child({ instanceId: ctx.instanceId, locationId: ctx.locationId });
    this.status = new StatusWriter(d.db, d.redis, ctx, this.log, d.alertGraceMs);
  }

  get socket(): WASocket | undefined {
    return this.ended ? undefined : this.sock;
  }

  async start(): Promise<void> {
    this.auth = await loadAuthState({
      db: this.d.db,
      instanceId: this.ctx.instanceId,
      log: this.log,
      keys: this.d.keys,
    });
    await this.status.set("CONNECTING", {});
    this.connect();
  }

  /** Person or reconcile stopped it: close without logging out (the session stays linked). */
  async stop(opts: { status?: "OFFLINE"; lastError?: string | null } = {}): Promise<void> {
    if (this.ended) return;
    // wait for the close so that the next owner's login cannot overlap with this socket
    await this.finish();
    // and for a send in flight to settle (sent, or requeued with its WhatsApp id): the next owner
    // must not claim a message this worker may still send (docs/architecture.md#sharing-numbers-between-workers)
    await Promise.race([this.sendsSettled, sleep(10_000)]);
    // key and creds writes held during a Postgres outage must land before the lease is handed on
    // (the next owner loads the session from Postgres); past the grace, they give up instead, so
    // that one cannot land later over the next owner's (docs/decisions/007-key-store-write-failures.md)
    const flushed = await Promise.race([
      this.auth?.flush().then(
        () => true,
        () => true,
      ) ?? true,
      sleep(10_000).then(() => false),
    ]);
    if (!flushed) {
      this.log.warn("session writes still held at stop; abandoning them so the next owner starts from Postgres");
      this.auth?.freeze();
    }
    // that socket's QR and pairing code can no longer be used; the next owner publishes its own
    await clearLinkCodes(this.d.redis, this.ctx.instanceId).catch(() => {});
    if (opts.status) await this.status.set(opts.status, { lastError: opts.lastError ?? null });
    this.onEnded(this, "stopped");
  }

  /** The lease is gone: another worker may already own the number, so close now and write nothing. */
  abort(): void {
    if (this.ended) return;
    this.status.mute();
    this.auth?.freeze();
    void this.finish();
    this.onEnded(this, "lease-lost");
  }

  /** Unlink at WhatsApp (the phone's linked-devices list drops us), then forget the session. */
  async logout(): Promise<void> {
    if (this.ended) return;
    const sock = this.sock;
    void this.finish(false);
    if (sock) {
      await sock.logout().catch((err) => {
        this.log.warn({ err }, "logout at WhatsApp failed; wiping locally");
        void sock.end(undefined);
      });
    }
    await this.wipeAndMark("LOGGED_OUT", null);
    this.onEnded(this, "stopped");
  }

  /** Close and reopen the socket, keeping the session. */
  restart(): void {
    if (this.ended) return;
    this.failures = 0;
    clearTimeout(this.reconnectTimer);
    void this.closeSocket().then(() => this.connect());
  }

  async requestPairingCode(phone: string): Promise<void> {
    const sock = this.sock;
    if (!sock || this.ended || this.auth?.isRegistered()) return;
    await this.d.redis.del(pairingRequestKey(this.ctx.instanceId));
    const code = await sock.requestPairingCode(phone.replace(/^\+/, ""));
    if (this.sock !== sock || this.ended) return;
    // kept like the QR, so that a panel opened after it was published still shows it (lib/instances/link-codes.ts)
    const { expiresAt } = await storePairingCode(this.d.redis, this.ctx.instanceId, code);
    await this.status.publish({ type: "instance.pairing-code", instanceId: this.ctx.instanceId, code, expiresAt });
  }

  private connect(): void {
    if (this.ended || !this.auth) return;
    this.qrCount = 0;
    let alive = true;
    let sock: WASocket | undefined;
    const hooks = this.d.hooks;
    const early = storeBeforeAck({
      keys: this.auth.state.keys,
      log: this.log,
      store: (m) => (hooks?.storeFirst && sock ? hooks.storeFirst(this.ctx, sock, m, () => alive) : Promise.resolve()),
      receipt: (n) =>
        hooks?.receiptFirst && sock ? hooks.receiptFirst(this.ctx, sock, n, () => alive) : Promise.resolve(true),
      undecryptable: (n) => (hooks?.undecryptable ? hooks.undecryptable(this.ctx, n) : Promise.resolve()),
      replaying: () => hooks?.replaying?.(this.ctx),
    });
    sock = makeWASocket({
      auth: { creds: this.auth.state.creds, keys: early.keys },
      waWebSocketUrl: this.d.wsUrl,
      logger: this.d.baileysLog,
      browser: Browsers.ubuntu("Chrome"),
      markOnlineOnConnect: false,
      // history sync on (docs/whatsapp.md#history-sync): WhatsApp's initial LID mappings, the
      // chats' privacy tokens and push names, and past messages for the import; FULL (years of
      // history, on request only) is never asked for nor processed
      shouldSyncHistoryMessage: ({ syncType }) => syncType !== proto.HistorySync.HistorySyncType.FULL,
      syncFullHistory: false,
      fetchAgent: this.d.fetchAgent,
      ...(this.d.fetchDispatcher ? { options: { dispatcher: this.d.fetchDispatcher } as RequestInit } : {}),
      qrTimeout: this.d.qrTimeoutMs,
      ...(this.d.version?.() ? { version: this.d.version() } : {}),
      // a contact that could not decrypt asks again: answered from what we stored (Baileys' own
      // cache covers only this socket's lifetime)
      getMessage: async (key) =>
        hooks?.getMessage ? hooks.getMessage(this.ctx, key).catch(() => undefined) : undefined,
      // one retry counter per worker, shared by its sockets (whatsapp.md)
      msgRetryCounterCache: this.d.msgRetryCounterCache as never,
    });
    this.sock = sock;
    early.attach(sock);
    try {
      hooks?.onSocket?.(this.ctx, sock, early);
    } catch (err) {
      this.log.warn({ err }, "onSocket hook failed");
    }
    const auth = this.auth;
    sock.ev.on("creds.update", () => {
      auth.saveCreds().catch(() => {}); // logged loudly inside
    });
    // Baileys rc14 often reports the offline batch as done BEFORE "open" (its login handler awaits
    // three server round trips before emitting open): remember it per socket, or the watchdog
    // armed at open would restart every healthy socket after watchdogMs, forever.
    let pendingDone = false;
    sock.ev.on("connection.update", (u) => {
      if (this.sock !== sock || this.ended) return;
      if (u.qr) void this.onQr(u.qr);
      if (u.receivedPendingNotifications) {
        pendingDone = true;
        this.clearWatchdog();
      }
      // armed synchronously, and only while the offline batch is still due: "open" and
      // "receivedPendingNotifications" can arrive in one merged update or in either order
      if (u.connection === "open") {
        if (!pendingDone) this.armWatchdog();
        void this.onOpen(sock);
      }
      if (u.connection === "close") {
        // what was not made durable yet was never acknowledged: WhatsApp replays it at the next login
        alive = false;
        const err = u.lastDisconnect?.error as { message?: string; output?: { statusCode?: number } } | undefined;
        void this.onClose(err?.output?.statusCode, err?.message === "QR refs attempts ended");
      }
    });
  }

  private async onQr(qr: string) {
    const lifetime = this.d.qrTimeoutMs ?? (this.qrCount === 0 ? 60_000 : 20_000);
    this.qrCount++;
    await this.status.set("QR", {});
    // the QR string is a login secret for its lifetime: Redis (for panels that connect later: one
    // reader, lib/instances/link-codes.ts) and the location's channel only, never a log
    const { expiresAt } = await storeQr(this.d.redis, this.ctx.instanceId, qr, lifetime);
    await this.status.publish({ type: "instance.qr", instanceId: this.ctx.instanceId, qr, expiresAt });
    const pending = await this.d.redis.get(pairingRequestKey(this.ctx.instanceId));
    if (pending && this.qrCount === 1) {
      await this.requestPairingCode(pending).catch((err) => this.log.warn({ err }, "pairing code request failed"));
    }
  }

  private armWatchdog() {
    this.clearWatchdog();
    this.watchdog = setTimeout(() => {
      // the event buffer can hang without ever flushing the offline batch: a fresh socket fixes it
      this.log.warn({ after: this.d.watchdogMs }, "no receivedPendingNotifications after open; reconnecting");
      this.restart();
    }, this.d.watchdogMs);
    this.watchdog.unref();
  }

  private async onOpen(sock: WASocket) {
    this.failures = 0;
    this.online = true;
    await clearLinkCodes(this.d.redis, this.ctx.instanceId);
    const me = sock.user?.id ?? this.auth?.state.creds.me?.id;
    const phone = me ? jidDecode(me)?.user : undefined;
    await this.status.set("ONLINE", {
      lastError: null,
      phone: phone ? `+${phone}` : undefined,
      waJid: me ? `${phone}@s.whatsapp.net` : undefined,
      connectedAt: new Date(),
    });
    try {
      this.d.hooks?.onOpen?.(this.ctx, sock);
    } catch (err) {
      this.log.warn({ err }, "onOpen hook failed");
    }
  }

  private async onClose(code: number | undefined, qrRefsEnded: boolean) {
    this.markClosed();
    // what this socket showed dies with it (a reconnect shows a new QR); a linked number has none
    // to clear, and its 440 may come from a socket another worker now owns
    if (!this.auth?.isRegistered()) await clearLinkCodes(this.d.redis, this.ctx.instanceId).catch(() => {});
    const decision = decideOnClose(
      {
        code,
        qrRefsEnded,
        registered: this.auth?.isRegistered() ?? false,
        failures: this.failures,
        holdsLease: code === 440 ? await this.d.holdsLease(this.ctx.instanceId) : true,
      },
      this.d.backoff,
    );
    if (this.ended) return;
    this.log.info({ code, action: decision.action, status: decision.status }, "socket closed");
    if (decision.action === "reconnect") {
      reconnects.inc({ code: code ?? "none" });
      if (decision.countsAsFailure) this.failures++;
      await this.status.set(decision.status, decision.lastError !== undefined ? { lastError: decision.lastError } : {});
      this.reconnectTimer = setTimeout(() => this.connect(), decision.delayMs);
      return;
    }
    void this.finish(false);
    if (decision.wipe) await this.wipeAndMark(decision.status ?? "LOGGED_OUT", decision.lastError ?? null);
    else if (decision.status)
      await this.status.set(decision.status, {
        lastError: decision.lastError ?? null,
        desiredStopped: decision.desiredStopped,
      });
    this.onEnded(this, decision.status ? "terminal" : "lease-lost");
  }

  private async wipeAndMark(status: InstanceStatusValue, lastError: string | null) {
    await this.auth?.wipe().catch((err) => this.log.error({ err }, "wiping the WhatsApp session FAILED"));
    await clearLinkCodes(this.d.redis, this.ctx.instanceId);
    await this.status.set(status, { lastError, phone: null, waJid: null, desiredStopped: true });
  }

  private async finish(closeSocket = true): Promise<void> {
    this.ended = true;
    clearTimeout(this.reconnectTimer);
    if (closeSocket) await this.closeSocket();
    else this.markClosed();
  }

  private async closeSocket(): Promise<void> {
    const sock = this.sock;
    this.markClosed();
    this.sock = undefined;
    if (!sock) return;
    // end() without an error: no logout, the session stays linked for the next owner
    await Promise.race([sock.end(undefined).catch(() => {}), new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  private markClosed() {
    this.clearWatchdog();
    if (this.online) {
      this.online = false;
      try {
        const settled = this.d.hooks?.onClose?.(this.ctx);
        if (settled) this.sendsSettled = settled.catch(() => {});
      } catch (err) {
        this.log.warn({ err }, "onClose hook failed");
      }
    }
  }

  private clearWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
