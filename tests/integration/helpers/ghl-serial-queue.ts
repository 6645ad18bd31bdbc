import type { Db } from "@/lib/db";
import { versionFor } from "@/lib/ghl/client";
import { type GhlCall, postInboundToGhl, syncGhlContactPhone } from "@/lib/messages/ghl-post";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import type { GhlSimulator } from "@/sandbox/ghl/server";
import { ALL_SCOPES, install } from "@/sandbox/ghl/test-kit";

/**
 * Calls GHL's API at `baseUrl` (the GHL simulator) with `token`, each path with its API version, as
 * the product's GHL client does; a refusal throws with GHL's answer. `before` runs before each call
 * (e.g. waiting for a slot of the location's rate window).
 */
export function ghlCaller(baseUrl: string, token: string, before?: () => Promise<unknown>): GhlCall {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    await before?.();
    const r = await fetch(`${baseUrl}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        authorization: `Bearer ${token}`,
        version: versionFor(path),
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`GHL answered ${r.status} to ${method} ${path}: ${JSON.stringify(json)}`);
    return json as T;
  };
}

/** Installs the app at `locationId` of the GHL simulator; calls GHL's API with that token. */
export async function installedGhlCall(ghl: GhlSimulator, locationId: string): Promise<GhlCall> {
  const { tokens } = await install(ghl, { locationId }, ALL_SCOPES);
  return ghlCaller(ghl.url, tokens.body.access_token as string);
}

/**
 * The worker's GHL queue reduced to one job at a time, in order: inbound messages posted and
 * contacts' phones synced into the simulator. What fails is collected in `errors` (a test expects
 * none). `db` is read when a job runs, so the fixture may be made after the queue.
 */
export function serialGhlQueue(ghl: GhlSimulator, call: GhlCall, db: () => Db) {
  const errors: unknown[] = [];
  let chain = Promise.resolve();
  const cfg = { appUrl: "http://127.0.0.1:9", conversationProviderId: ghl.config.conversationProviderId };
  const notifyGhl = async (j: GhlJob) => {
    chain = chain
      .then(async () => {
        if (j.kind === "inbound")
          await postInboundToGhl(db(), call, { locationId: j.locationId, messageId: j.messageId }, cfg);
        else if (j.kind === "contact") await syncGhlContactPhone(db(), call, j.locationId, j.contactId);
      })
      .catch((err) => void errors.push(err));
  };
  return { notifyGhl, errors, idle: () => chain };
}
