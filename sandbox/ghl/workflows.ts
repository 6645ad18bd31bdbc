import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { ControlRoute } from "./control-kit";
import { readBody, sendJson } from "./http-util";
import { traceId as newTraceId } from "./ids";
import type { Sim } from "./sim";
import { nowIso, type SimState } from "./state";
import { findAccess } from "./tokens";

// GHL's Marketplace workflow triggers and actions, the whole imitation in this file
// (docs/sandbox.md#ghl-workflows). What GHL's Marketplace docs ("Creating a Marketplace Workflow
// Trigger", "Creating a Marketplace Workflow Action") say, imitated as said:
// - A workflow that adopts one of the app's triggers makes GHL POST the trigger's Subscription URL
//   with `{triggerData: {id, key, filters, eventType: CREATED|UPDATED|DELETED, targetUrl}, meta:
//   {key, version}, extras: {locationId, workflowId, companyId}}` and the headers the developer
//   entered for that URL (no signature is documented, so none is sent).
// - An action's execution URL gets `{data: <its fields>, extras: {locationId, contactId,
//   workflowId}, meta: {key, version}}` with the developer's headers; its Dynamic field URL gets
//   the same shape while a user configures the action, and answers `{inputs: [{section, fields}]}`.
// - The app needs the `workflows.readonly` scope for either.
// Guessed (GHL does not document it; marked so in docs/ghl.md): how the app posts an event to
// `targetUrl` — here a POST of the JSON payload with the location's Bearer token and a Version
// header, as every other GHL API call; an unknown or deleted trigger URL answers 404. A trigger's
// filters of type `==` are applied to the payload: an event that does not match runs no workflow.

export const WORKFLOW_SCOPE = "workflows.readonly";
const TRIGGER_PATH = /^\/workflows-marketplace\/triggers\/execute\/([^/]+)\/([^/]+)\/?$/;

type Filter = { field: string; operator: "=="; value: string };
type Subscription = {
  id: string;
  key: string;
  locationId: string;
  companyId: string;
  workflowId: string;
  targetUrl: string;
  filters: Filter[];
  deleted: boolean;
  calls: { eventType: string; at: string; status: number | null; error?: string }[];
};
type Fired = {
  at: string;
  triggerId: string;
  workflowId: string;
  locationId: string;
  key: string;
  payload: unknown;
  ran: boolean;
};
type ActionCall = {
  at: string;
  key: string;
  locationId: string;
  url: string;
  request: unknown;
  status: number | null;
  response: unknown;
};
type WorkflowState = { subs: Map<string, Subscription>; fired: Fired[]; actions: ActionCall[] };

// kept beside the sim's state, so a reset (a new SimState) forgets it too
const states = new WeakMap<SimState, WorkflowState>();
function wf(sim: Sim): WorkflowState {
  let s = states.get(sim.state);
  if (!s) states.set(sim.state, (s = { subs: new Map(), fired: [], actions: [] }));
  return s;
}

/** Where the app's URLs and headers are, as the developer entered them in the Marketplace. */
function appSide(sim: Sim) {
  const c = sim.cfg;
  return {
    subscriptionUrl: c.workflowSubscriptionUrl,
    actionUrls: c.workflowActionUrls,
    headers: c.workflowHeaders,
  };
}

async function post(
  sim: Sim,
  url: string,
  body: unknown,
): Promise<{ status: number | null; body: unknown; error?: string }> {
  try {
    const res = await fetch(url, {
      method: "POST",
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
      headers: { "content-type": "application/json", "user-agent": "GHL-Sandbox/1.0", ...appSide(sim).headers },
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body: parsed };
  } catch (e) {
    return { status: null, body: null, error: e instanceof Error ? e.message : String(e) };
  }
}

async function notify(sim: Sim, s: Subscription, eventType: "CREATED" | "UPDATED" | "DELETED") {
  const body = {
    triggerData: {
      id: s.id,
      key: s.key,
      filters: s.filters.map((f) => ({ ...f, id: f.field, title: f.field, type: "string" })),
      eventType,
      targetUrl: s.targetUrl,
    },
    meta: { key: s.key, version: "1.0" },
    extras: { locationId: s.locationId, workflowId: s.workflowId, companyId: s.companyId },
  };
  const r = await post(sim, appSide(sim).subscriptionUrl, body);
  s.calls.push({ eventType, at: nowIso(), status: r.status, ...(r.error ? { error: r.error } : {}) });
  return r;
}

const where = z.object({ locationId: z.string().min(1) });

export const workflowControlRoutes: ControlRoute[] = [
  // A GHL user builds (and publishes) a workflow starting with one of the app's triggers.
  [
    "POST",
    "/__sandbox/workflows",
    async (c) => {
      const b = await c.body(
        where.extend({
          triggerKey: z.string().min(1),
          workflowId: z.string().optional(),
          filters: z.array(z.object({ field: z.string(), value: z.string() })).optional(),
        }),
      );
      if (!b) return;
      const loc = c.sim.state.locations.get(b.locationId);
      if (!loc) return c.json(404, { error: { code: "not_found", message: "unknown location" } });
      if (!installedWithScope(c.sim, b.locationId)) {
        return c.json(409, {
          error: {
            code: "not_available",
            message: `the app is not installed on this location with ${WORKFLOW_SCOPE}: its triggers are not offered`,
          },
        });
      }
      const id = randomUUID();
      const s: Subscription = {
        id,
        key: b.triggerKey,
        locationId: b.locationId,
        companyId: loc.companyId,
        workflowId: b.workflowId ?? `wf-${randomUUID().slice(0, 8)}`,
        targetUrl: `${c.sim.cfg.url}/workflows-marketplace/triggers/execute/${c.sim.cfg.appId}/${id}`,
        filters: (b.filters ?? []).map((f) => ({ ...f, operator: "==" as const })),
        deleted: false,
        calls: [],
      };
      wf(c.sim).subs.set(id, s);
      const r = await notify(c.sim, s, "CREATED");
      c.json(201, {
        triggerId: id,
        workflowId: s.workflowId,
        targetUrl: s.targetUrl,
        subscription: { status: r.status, body: r.body, error: r.error },
      });
    },
  ],
  // The user removes the trigger from the workflow (or deletes the workflow).
  [
    "DELETE",
    "/__sandbox/workflows/:triggerId",
    async (c) => {
      const s = wf(c.sim).subs.get(c.params.triggerId);
      if (!s || s.deleted)
        return c.json(404, { error: { code: "not_found", message: "no such trigger in a workflow" } });
      s.deleted = true;
      const r = await notify(c.sim, s, "DELETED");
      c.json(200, { triggerId: s.id, subscription: { status: r.status, body: r.body, error: r.error } });
    },
  ],
  [
    "GET",
    "/__sandbox/workflows",
    (c) => {
      const loc = c.url.searchParams.get("locationId");
      c.json(200, { workflows: [...wf(c.sim).subs.values()].filter((s) => !loc || s.locationId === loc) });
    },
  ],
  // What the app fired at its triggers' URLs (`ran`: the workflow's filters let it run).
  [
    "GET",
    "/__sandbox/workflows/events",
    (c) => {
      const q = c.url.searchParams;
      c.json(200, {
        events: wf(c.sim).fired.filter(
          (e) =>
            (!q.get("locationId") || e.locationId === q.get("locationId")) && (!q.get("key") || e.key === q.get("key")),
        ),
      });
    },
  ],
  // A workflow reaches one of the app's actions for a contact: GHL posts the action's URL.
  [
    "POST",
    "/__sandbox/workflows/actions",
    async (c) => {
      const b = await c.body(
        where.extend({
          key: z.string().min(1),
          data: z.record(z.string(), z.unknown()),
          contactId: z.string().optional(),
          workflowId: z.string().optional(),
        }),
      );
      if (!b) return;
      if (!c.sim.state.locations.has(b.locationId))
        return c.json(404, { error: { code: "not_found", message: "unknown location" } });
      if (!installedWithScope(c.sim, b.locationId)) {
        return c.json(409, {
          error: {
            code: "not_available",
            message: `the app is not installed on this location with ${WORKFLOW_SCOPE}: its actions are not offered`,
          },
        });
      }
      const url = appSide(c.sim).actionUrls[b.key];
      if (!url) return c.json(404, { error: { code: "not_found", message: `the app has no action ${b.key}` } });
      const request = {
        data: b.data,
        extras: { locationId: b.locationId, contactId: b.contactId, workflowId: b.workflowId ?? "wf-sandbox" },
        meta: { key: b.key, version: "1.0" },
      };
      const r = await post(c.sim, url, request);
      wf(c.sim).actions.push({
        at: nowIso(),
        key: b.key,
        locationId: b.locationId,
        url,
        request,
        status: r.status,
        response: r.body,
      });
      c.json(200, { status: r.status, body: r.body, ...(r.error ? { error: r.error } : {}) });
    },
  ],
  ["GET", "/__sandbox/workflows/actions", (c) => c.json(200, { actions: wf(c.sim).actions })],
  // A user opens the action in the workflow builder: GHL asks the Dynamic field URL for the form.
  [
    "POST",
    "/__sandbox/workflows/actions/fields",
    async (c) => {
      const b = await c.body(
        where.extend({ key: z.string().min(1), data: z.record(z.string(), z.unknown()).optional() }),
      );
      if (!b) return;
      if (!installedWithScope(c.sim, b.locationId)) {
        return c.json(409, {
          error: {
            code: "not_available",
            message: `the app is not installed on this location with ${WORKFLOW_SCOPE}: its actions are not offered`,
          },
        });
      }
      const url = c.sim.cfg.workflowActionFieldUrls[b.key];
      if (!url)
        return c.json(404, { error: { code: "not_found", message: `the action ${b.key} has no Dynamic field` } });
      const r = await post(c.sim, url, {
        data: b.data ?? {},
        extras: { locationId: b.locationId, workflowId: "wf-sandbox" },
        meta: { key: b.key, version: "1.0" },
      });
      c.json(200, { status: r.status, body: r.body, ...(r.error ? { error: r.error } : {}) });
    },
  ],
];

/** The trigger URL the app posts events to; true when handled. */
export async function handleTriggerExecute(
  sim: Sim,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const m = TRIGGER_PATH.exec(url.pathname);
  if (!m) return false;
  const traceId = newTraceId();
  const fail = (status: number, message: string) => sendJson(res, status, { statusCode: status, message, traceId });
  if (req.method !== "POST") return (fail(404, `Cannot ${req.method} ${url.pathname}`), true);
  const raw = await readBody(req, 1024 * 1024);
  const token = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ""))?.[1]?.trim();
  const grant = token ? findAccess(sim.state, token) : undefined;
  if (!grant) return (fail(401, "Invalid token: access token is invalid"), true);
  if (!req.headers.version) return (fail(401, "version header was not found."), true);
  const s = wf(sim).subs.get(decodeURIComponent(m[2]));
  if (!s || s.deleted || decodeURIComponent(m[1]) !== sim.cfg.appId) return (fail(404, "Trigger not found"), true);
  if (grant.userType !== "Location" || grant.locationId !== s.locationId)
    return (fail(403, "The token does not have access to this location."), true);
  if (!grant.scopes.includes(WORKFLOW_SCOPE)) return (fail(401, "The token is not authorized for this scope."), true);
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString("utf8"));
  } catch {
    return (fail(400, "Unexpected request body"), true);
  }
  if (!payload || typeof payload !== "object" || Array.isArray(payload))
    return (fail(422, "the trigger data must be a JSON object"), true);
  const ran = s.filters.every((f) => String((payload as Record<string, unknown>)[f.field]) === f.value);
  wf(sim).fired.push({
    at: nowIso(),
    triggerId: s.id,
    workflowId: s.workflowId,
    locationId: s.locationId,
    key: s.key,
    payload,
    ran,
  });
  sendJson(res, 200, { success: true, traceId });
  return true;
}

function installedWithScope(sim: Sim, locationId: string): boolean {
  return sim.state.grants.some(
    (g) =>
      g.userType === "Location" && g.locationId === locationId && !g.revokedAt && g.scopes.includes(WORKFLOW_SCOPE),
  );
}
