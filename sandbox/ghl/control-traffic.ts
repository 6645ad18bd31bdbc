import { z } from "zod";
import type { ControlRoute } from "./control-kit";
import { pickUser } from "./custom-page";
import { deliverOutbound } from "./delivery";
import { installLocation, installPayload, uninstall } from "./installs";
import { ssoPayload } from "./sso-crypto";
import type { Message } from "./state";

const appId = z.string().min(1).max(100).optional();

function messageJson(m: Message) {
  const last = m.delivery?.attempts.at(-1);
  return {
    id: m.id,
    locationId: m.locationId,
    contactId: m.contactId,
    conversationId: m.conversationId,
    direction: m.direction,
    type: m.type,
    body: m.body,
    attachments: m.attachments,
    status: m.status,
    statuses: m.statuses,
    createdAt: m.createdAt,
    dateAdded: m.dateAdded ?? m.createdAt,
    altId: m.altId,
    userId: m.userId,
    source: m.source,
    deliveryStatus: last?.status,
    deliveryError: last?.error,
    ...(m.delivery ? { delivery: deliveryJson(m.delivery) } : {}),
  };
}

// Every attempt of the Delivery URL call; `done` once GHL would stop (a non-429 answer, or 429 after the last retry).
function deliveryJson(d: NonNullable<Message["delivery"]>) {
  return {
    attempts: d.attempts,
    done: d.done,
    retries: Math.max(0, d.attempts.length - 1),
    nextAttemptAt: d.nextAttemptAt,
  };
}

export const trafficRoutes: ControlRoute[] = [
  [
    "POST",
    "/__sandbox/locations/:locationId/messages",
    async (c) => {
      const b = await c.body(
        z
          .object({
            phone: z.string().min(3).optional(),
            contactId: z.string().min(1).optional(),
            message: z.string(),
            attachments: z.array(z.string()).optional(),
            contactName: z.string().optional(),
            userId: z.string().nullable().optional(),
          })
          .refine((x) => !!x.phone !== !!x.contactId, { message: "give phone or contactId (one of them)" }),
      );
      if (!b) return;
      if (!c.sim.state.locations.has(c.params.locationId))
        return c.json(404, { error: { code: "not_found", message: "unknown location" } });
      const to = b.contactId ? c.sim.state.contacts.get(b.contactId) : undefined;
      if (b.contactId && to?.locationId !== c.params.locationId)
        return c.json(404, { error: { code: "not_found", message: "unknown contact in this location" } });
      c.json(200, await deliverOutbound(c.sim, c.params.locationId, b));
    },
  ],
  [
    "GET",
    "/__sandbox/messages/:messageId",
    (c) => {
      const m = c.sim.state.messages.get(c.params.messageId);
      if (!m) return c.json(404, { error: { code: "not_found", message: "unknown message" } });
      c.json(200, { ...messageJson(m), deliveryPayload: m.delivery?.payload });
    },
  ],
  // Delivery URL calls and their attempts, newest first (`?locationId=`, `?pending=true` for those GHL will still resend)
  [
    "GET",
    "/__sandbox/deliveries",
    (c) => {
      const q = Object.fromEntries(c.url.searchParams);
      const list = [...c.sim.state.messages.values()]
        .filter(
          (m) =>
            m.delivery &&
            (!q.locationId || m.locationId === q.locationId) &&
            (q.pending !== "true" || !m.delivery.done),
        )
        .reverse()
        .map((m) => ({
          messageId: m.id,
          locationId: m.locationId,
          contactId: m.contactId,
          ...deliveryJson(m.delivery!),
        }));
      c.json(200, { deliveries: list });
    },
  ],
  [
    "GET",
    "/__sandbox/locations/:locationId/inbound",
    (c) => c.json(200, { messages: c.sim.state.inbound.filter((r) => r.locationId === c.params.locationId) }),
  ],
  [
    "GET",
    "/__sandbox/locations/:locationId/conversations",
    (c) => {
      const s = c.sim.state;
      const list = [...s.conversations.values()]
        .filter((x) => x.locationId === c.params.locationId)
        .sort((a, b) => b.lastMessageDate.localeCompare(a.lastMessageDate))
        .map((x) => {
          const contact = s.contacts.get(x.contactId);
          return {
            ...x,
            contact: { id: x.contactId, phone: contact?.phone, name: contact?.name },
            // in GHL's order: by the message's date (a message posted with an earlier date sorts before)
            messages: [...s.messages.values()]
              .filter((m) => m.conversationId === x.id)
              .sort((a, b) => (a.dateAdded ?? a.createdAt).localeCompare(b.dateAdded ?? b.createdAt))
              .map(messageJson),
          };
        });
      c.json(200, { conversations: list });
    },
  ],
  [
    "GET",
    "/__sandbox/locations/:locationId/contacts",
    (c) =>
      c.json(200, { contacts: [...c.sim.state.contacts.values()].filter((x) => x.locationId === c.params.locationId) }),
  ],
  // A GHL user tags a contact (or removes tags): the contact's `tags` as GET /contacts/{id} answers them.
  [
    "PUT",
    "/__sandbox/contacts/:contactId/tags",
    async (c) => {
      const b = await c.body(z.object({ tags: z.array(z.string().min(1).max(100)).max(100) }));
      if (!b) return;
      const contact = c.sim.state.contacts.get(c.params.contactId);
      if (!contact) return c.json(404, { error: { code: "not_found", message: "no such contact" } });
      contact.tags = b.tags;
      contact.dateUpdated = new Date().toISOString();
      c.json(200, { contact });
    },
  ],
  [
    "GET",
    "/__sandbox/calls",
    (c) => {
      const q = Object.fromEntries(c.url.searchParams);
      const pathRe = q.path
        ? new RegExp(
            `^${q.path
              .split("*")
              .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
              .join(".*")}/?$`,
          )
        : undefined;
      const calls = c.sim.state.calls.filter(
        (x) =>
          (!pathRe || pathRe.test(x.path)) &&
          (!q.locationId || x.locationId === q.locationId) &&
          (!q.method || x.method === q.method.toUpperCase()),
      );
      c.json(200, { calls });
    },
  ],
  ["DELETE", "/__sandbox/calls", (c) => ((c.sim.state.calls = []), c.json(200, { ok: true }))],
  ["GET", "/__sandbox/webhooks", (c) => c.json(200, { webhooks: c.sim.state.webhooks })],
  // `appId` (optional): send the webhook as another Marketplace app would, signed with the same
  // keys (GHL signs every app's webhooks alike) and without changing this app's installs.
  [
    "POST",
    "/__sandbox/webhooks/uninstall",
    async (c) => {
      const b = await c.body(
        z.union([z.object({ locationId: z.string(), appId }), z.object({ companyId: z.string(), appId })]),
      );
      if (!b) return;
      const { appId: asApp, ...target } = b;
      if (!asApp || asApp === c.sim.cfg.appId) uninstall(c.sim, target);
      const rec = await c.sim.webhooks.send("UNINSTALL", { appId: asApp ?? c.sim.cfg.appId, ...target });
      c.json(200, { webhookId: rec.webhookId, body: rec.body, deliveryStatus: rec.attempts[0]?.status ?? null });
    },
  ],
  // A later install GHL reports only by webhook (a new location under a bulk install, say).
  [
    "POST",
    "/__sandbox/webhooks/install",
    async (c) => {
      const b = await c.body(
        z.union([z.object({ locationId: z.string(), appId }), z.object({ companyId: z.string(), appId })]),
      );
      if (!b) return;
      const s = c.sim.state;
      const foreign = b.appId !== undefined && b.appId !== c.sim.cfg.appId;
      let payload: Record<string, unknown>;
      if ("locationId" in b) {
        const loc = s.locations.get(b.locationId);
        if (!loc) return c.json(404, { error: { code: "not_found", message: "unknown location" } });
        const ci = s.companyInstalls.get(loc.companyId);
        if (!foreign) {
          if (ci && !ci.approvedLocations.includes(loc.id)) ci.approvedLocations.push(loc.id);
          installLocation(c.sim, loc.id, { via: "webhook", scopes: ci?.scopes ?? [], webhook: false });
        }
        payload = installPayload(c.sim, loc.companyId, loc.id, s.adminOf(loc.id)?.id);
      } else {
        if (!s.companies.has(b.companyId))
          return c.json(404, { error: { code: "not_found", message: "unknown company" } });
        payload = installPayload(c.sim, b.companyId, undefined, s.agencyAdminOf(b.companyId)?.id);
      }
      if (foreign) payload = { ...payload, appId: b.appId };
      const rec = await c.sim.webhooks.send("INSTALL", payload);
      c.json(200, { webhookId: rec.webhookId, body: rec.body, deliveryStatus: rec.attempts[0]?.status ?? null });
    },
  ],
  [
    "POST",
    "/__sandbox/sso",
    async (c) => {
      const b = await c.body(
        z.object({
          locationId: z.string().optional(),
          activeLocation: z.string().optional(),
          companyId: z.string().optional(),
          userId: z.string().optional(),
          role: z.enum(["admin", "user"]).optional(),
          type: z.enum(["agency", "location"]).optional(),
          userName: z.string().optional(),
          email: z.string().optional(),
        }),
      );
      if (!b) return;
      const locationId = b.locationId ?? b.activeLocation;
      const companyId = b.companyId ?? (locationId ? c.sim.state.locations.get(locationId)?.companyId : undefined);
      if (!companyId)
        return c.json(400, { error: { code: "bad_input", message: "companyId (or a known locationId) is required" } });
      const q = new URLSearchParams(
        Object.entries({ userId: b.userId, role: b.role, type: b.type }).filter(([, v]) => v) as [string, string][],
      );
      const user = {
        ...pickUser(c.sim, { locationId, companyId }, q),
        ...(b.userName ? { userName: b.userName } : {}),
        ...(b.email ? { email: b.email } : {}),
      };
      c.json(200, { payload: ssoPayload(user, c.sim.cfg.ssoKey), user });
    },
  ],
  [
    "GET",
    "/__sandbox/files/:id/:name",
    (c) => {
      const f = c.sim.state.uploads.get(c.params.id);
      if (!f) return c.json(404, { error: { code: "not_found", message: "unknown file" } });
      c.res.writeHead(200, { "content-type": f.contentType, "content-length": f.data.length });
      c.res.end(f.data);
    },
  ],
];
