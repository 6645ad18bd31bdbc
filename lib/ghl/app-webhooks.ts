import { createHash } from "node:crypto";
import { ZodError, z } from "zod";
import { AppError, unauthorized } from "../errors";
import { childLogger } from "../log";
import { mintForInstall, recordInstallWebhook } from "../tenants/install";
import { renameFromGhl } from "../tenants/location-name";
import { uninstallTenant } from "../tenants/uninstall";
import type { Deps } from "./token-refresh";
import { isStale, verifyWebhookSignature, type WebhookKeys } from "./webhook-verify";

// The Default Webhook URL (docs/ghl.md#app-webhooks). Order matters: signature over the raw bytes, then
// freshness, then the webhookId receipt (the durable write that makes a replay a no-op), then the
// tenant change. Anything unauthenticated is a 401 that touched nothing.
// GHL signs the webhooks of every Marketplace app with one key pair, so a valid signature proves
// GHL sent it, not that it is ours: one whose `appId` is not this app's (another app's UNINSTALL
// forwarded here, say) is answered 200 and ignored, before it can claim a receipt or touch a tenant.

const base = z
  .object({
    webhookId: z.string().min(1).max(200).optional(),
    timestamp: z.string().optional(),
    appId: z.string().optional(),
  })
  .passthrough();
const install = base.extend({
  type: z.literal("INSTALL"),
  companyId: z.string().min(1),
  locationId: z.string().min(1).optional(),
  companyName: z.string().optional(),
});
const uninstall = base
  .extend({
    type: z.literal("UNINSTALL"),
    companyId: z.string().min(1).optional(),
    locationId: z.string().min(1).optional(),
  })
  .refine((x) => x.companyId || x.locationId, "locationId or companyId is required");
// GHL's LocationUpdate (docs/ghl.md#location-names): `id` is the location; its documented example
// carries neither appId, webhookId nor timestamp
const locationUpdate = base.extend({
  type: z.literal("LocationUpdate"),
  id: z.string().min(1).max(100),
  companyId: z.string().min(1).max(100).optional(),
  name: z.string().trim().min(1).max(200).optional(),
});
const other = base.extend({ type: z.string() });

const RECEIPT_TTL_MS = 24 * 3600 * 1000;
const receiptId = (webhookId: string) => `ghl-app:${webhookId}`;
const bodyReceiptId = (raw: Buffer) => `ghl-app-body:${createHash("sha256").update(raw).digest("hex")}`;

export type WebhookOutcome = { result: "accepted" | "ignored"; type: string; followUp?: () => Promise<void> };
/** `appId`: this app's id (`ghlAppId(env())`); webhooks naming another app are ignored. */
export type AppWebhookConfig = { keys: WebhookKeys; appId: string };

export async function acceptAppWebhook(
  d: Deps,
  cfg: AppWebhookConfig,
  raw: Buffer,
  headers: Headers,
  now = Date.now(),
): Promise<WebhookOutcome> {
  const sig = verifyWebhookSignature(raw, headers, cfg.keys);
  if (!sig.ok)
    throw unauthorized(
      sig.reason === "missing" ? "the webhook is not signed" : "the webhook signature does not verify",
    );
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new AppError("bad_request", "the body is not valid JSON");
  }
  const head = other.parse(json);
  // GHL documents LocationUpdate without appId: one that names no app is GHL's signed word about a
  // location and is checked against the location instead (SECURITY.md, "Location names from GHL")
  const noAppIdAllowed = head.type === "LocationUpdate" && head.appId === undefined;
  if (head.appId !== cfg.appId && !noAppIdAllowed) {
    // a missing appId is not ours either: GHL sends it on every app webhook (docs/AppInstall.md)
    childLogger({ webhookId: head.webhookId, type: head.type }).warn(
      { appId: head.appId ?? null },
      "webhook of another app ignored",
    );
    return { result: "ignored", type: head.type };
  }
  if (isStale(head.timestamp, now)) throw unauthorized("the webhook timestamp is outside the 5-minute window");
  // GHL's examples of INSTALL/UNINSTALL show neither webhookId nor timestamp, so one may come
  // without them: the receipt is then the signed body's hash, and the same bytes within the
  // receipt window are a replay (docs/ghl.md#app-webhooks; SECURITY.md, low-severity items)
  const receipt = head.webhookId ? receiptId(head.webhookId) : bodyReceiptId(raw);
  if (!(await claimReceipt(d, receipt, now)))
    throw unauthorized(head.webhookId ? "this webhookId was already received" : "this webhook was already received");
  try {
    return await apply(d, head, json, sig.scheme);
  } catch (err) {
    if (err instanceof AppError || err instanceof ZodError) throw err;
    // GHL retries an app webhook only on 429: a failure of ours (database down…) asks for a retry,
    // and forgets the receipt so that the retry is not taken for a replay
    await d.db.webhookReceipt.deleteMany({ where: { id: receipt } }).catch(() => {});
    childLogger({ webhookId: head.webhookId, type: head.type }).warn(
      { err },
      "webhook not applied; asking GHL to retry",
    );
    throw new AppError("rate_limited", "temporarily unable to apply the webhook; retry later");
  }
}

async function apply(d: Deps, head: z.infer<typeof other>, json: unknown, scheme: string): Promise<WebhookOutcome> {
  const log = childLogger({ webhookId: head.webhookId, type: head.type, scheme });

  if (head.type === "INSTALL") {
    const p = install.parse(json);
    await recordInstallWebhook(d.db, p);
    log.info({ companyId: p.companyId, locationId: p.locationId }, "INSTALL received");
    return {
      result: "accepted",
      type: "INSTALL",
      // minting calls GHL: after the answer, never inside it; the client also mints lazily if this is lost
      followUp: async () => {
        const minted = await mintForInstall(d, p).catch(
          (err) => (log.warn({ err }, "minting after INSTALL failed"), []),
        );
        if (minted.length) log.info({ minted }, "Location tokens minted after INSTALL");
      },
    };
  }
  if (head.type === "UNINSTALL") {
    const p = uninstall.parse(json);
    const ids = await uninstallTenant(d.db, d.redis, p);
    log.info({ locationIds: ids, companyId: p.companyId }, "UNINSTALL processed");
    return { result: "accepted", type: "UNINSTALL" };
  }
  if (head.type === "LocationUpdate") {
    const p = locationUpdate.parse(json);
    const renamed = await renameFromGhl(d.db, { locationId: p.id, companyId: p.companyId, name: p.name });
    log.info({ locationId: p.id, renamed }, "LocationUpdate received");
    return { result: "accepted", type: "LocationUpdate" };
  }
  return { result: "ignored", type: head.type };
}

/** One receipt per id within RECEIPT_TTL_MS; an expired one is taken over (the window has passed). */
async function claimReceipt(d: Deps, id: string, now: number): Promise<boolean> {
  const expiresAt = new Date(now + RECEIPT_TTL_MS);
  try {
    await d.db.webhookReceipt.create({ data: { id, kind: "ghl-app", expiresAt } });
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== "P2002") throw err;
    const taken = await d.db.webhookReceipt.updateMany({
      where: { id, expiresAt: { lte: new Date(now) } },
      data: { expiresAt },
    });
    return taken.count === 1;
  }
}
