import type { Db } from "@/lib/db";
import { versionFor } from "@/lib/ghl/client";
import { type GhlCall, postInboundToGhl, syncGhlContactPhone } from "@/lib/messages/ghl-post";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import type { GhlSimulator } from "@/sandbox/ghl/server";
import { ALL_SCOPES, install } from "@/sandbox/ghl/test-kit";

/** Installs the app at `locationId` of the GHL simulator; calls GHL's API with that token. */
export async function installedGhlCall(ghl: GhlSimulator, locationId: string): Promise<GhlCall> {
  const { tokens } = await install(ghl, { locationId }, ALL_SCOPES);
  const token = tokens.body.access_token as string;
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${ghl.url}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        authorization: `Bearer ${token}`,
        version: versionFor(path),
        "content-type": "application/json",
        accept: "application/json",
      },
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`GHL answered ${r.status} to ${method} ${path}: ${JSON.stringify(json)}`);
    return json as T;
  };
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
