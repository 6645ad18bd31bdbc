import { createPrivateKey, createSign, sign as edSign, randomUUID } from "node:crypto";
import type { GhlSimulatorConfig } from "./config";
import { nowIso, type Retried, type SimState, type WebhookRecord } from "./state";

export function signatures(cfg: GhlSimulatorConfig, raw: Buffer): Record<string, string> {
  const ed = edSign(null, raw, createPrivateKey(cfg.privateKeys.ed25519)).toString("base64");
  const rsa = createSign("SHA256").update(raw).end().sign(cfg.privateKeys.rsa, "base64");
  return { "x-ghl-signature": ed, "x-wh-signature": rsa };
}

export interface PostResult {
  status: number | null;
  error?: string;
  body?: string;
  retryAfter?: string;
}

// Signs the exact bytes it sends: the app must verify the raw body, not a re-serialisation.
export async function postSigned(cfg: GhlSimulatorConfig, url: string, body: unknown): Promise<PostResult> {
  const raw = Buffer.from(JSON.stringify(body));
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "GHL-Sandbox/1.0", ...signatures(cfg, raw) },
      body: raw,
      signal: AbortSignal.timeout(15_000),
    });
    const retryAfter = res.headers.get("retry-after") ?? undefined;
    return { status: res.status, body: await res.text(), ...(retryAfter ? { retryAfter } : {}) };
  } catch (e) {
    return { status: null, error: e instanceof Error ? e.message : String(e) };
  }
}

export class WebhookSender {
  private timers = new Set<NodeJS.Timeout>();
  constructor(
    private cfg: GhlSimulatorConfig,
    private getState: () => SimState,
  ) {}

  // GHL retries an app webhook only when the app answers 429; anything else is final.
  async send(kind: "INSTALL" | "UNINSTALL", payload: Record<string, unknown>): Promise<WebhookRecord> {
    const body = { type: kind, ...payload, timestamp: nowIso(), webhookId: randomUUID() };
    const rec: WebhookRecord = {
      webhookId: body.webhookId,
      kind,
      url: this.cfg.webhookUrl,
      body,
      attempts: [],
      done: false,
    };
    const state = this.getState();
    state.webhooks.push(rec);
    await this.attempt(rec, rec.url, rec.body);
    return rec;
  }

  /**
   * An event webhook sent exactly as GHL documents it: `LocationUpdate` (docs/LocationUpdate.md in
   * GHL's reference) has neither appId, webhookId nor timestamp, so none is added here.
   */
  async sendEvent(kind: "LocationUpdate", body: Record<string, unknown>): Promise<WebhookRecord> {
    const payload = { type: kind, ...body };
    const rec: WebhookRecord = {
      webhookId: `evt-${randomUUID()}`,
      kind,
      url: this.cfg.webhookUrl,
      body: payload,
      attempts: [],
      done: false,
    };
    this.getState().webhooks.push(rec);
    await this.attempt(rec, rec.url, rec.body);
    return rec;
  }

  sendLater(kind: "INSTALL" | "UNINSTALL", payload: Record<string, unknown>, delayMs = 20): void {
    this.later(delayMs, () => void this.send(kind, payload));
  }

  /**
   * Posts `body` signed to `url` as GHL does with every webhook, the Delivery URL included: a 429
   * is resent (the same bytes, signed again) after `webhookRetryDelayMs`, at most
   * `webhookMaxRetries` times (GHL: 6, ~10 minutes apart); any other answer — 2xx, 4xx, 5xx or no
   * answer at all — is final. Resolves after the first attempt; each one is recorded on `rec`.
   */
  async attempt(rec: Retried, url: string, body: unknown): Promise<PostResult> {
    const r = await postSigned(this.cfg, url, body);
    rec.attempts.push({
      at: nowIso(),
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      ...(r.retryAfter ? { retryAfter: r.retryAfter } : {}),
    });
    if (r.status === 429 && rec.attempts.length <= this.cfg.webhookMaxRetries) {
      rec.nextAttemptAt = new Date(Date.now() + this.cfg.webhookRetryDelayMs).toISOString();
      this.later(this.cfg.webhookRetryDelayMs, () => void this.attempt(rec, url, body));
    } else {
      rec.done = true;
      delete rec.nextAttemptAt;
    }
    return r;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
