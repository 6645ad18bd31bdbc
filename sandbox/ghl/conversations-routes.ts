import { type ApiRoute, ownsLocation } from "./api-pipeline";
import { ghlId } from "./ids";
import { type Conversation, nowIso, type SimState } from "./state";

export function ensureConversation(state: SimState, locationId: string, contactId: string): Conversation {
  const found = state.conversationOf(locationId, contactId);
  if (found) return found;
  const now = nowIso();
  const c: Conversation = {
    id: ghlId(),
    locationId,
    contactId,
    dateAdded: now,
    dateUpdated: now,
    lastMessageDate: now,
    lastMessageBody: "",
  };
  state.conversations.set(c.id, c);
  return c;
}

function conversationJson(state: SimState, c: Conversation): Record<string, unknown> {
  const contact = state.contacts.get(c.contactId);
  return {
    id: c.id,
    contactId: c.contactId,
    locationId: c.locationId,
    lastMessageBody: c.lastMessageBody,
    lastMessageType: "TYPE_SMS",
    type: "TYPE_PHONE",
    unreadCount: 0,
    fullName: contact?.name ?? "",
    contactName: contact?.name ?? contact?.phone ?? "",
    email: contact?.email ?? "",
    phone: contact?.phone ?? "",
    lastMessageDirection: c.lastMessageDirection,
    dateAdded: Date.parse(c.dateAdded),
    dateUpdated: Date.parse(c.dateUpdated),
  };
}

const search: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const { query, sim } = ctx;
    if (!ownsLocation(ctx, query.locationId)) return;
    const limit = Number(query.limit ?? 20) || 20;
    const all = [...sim.state.conversations.values()].filter(
      (c) =>
        c.locationId === query.locationId &&
        (!query.contactId || c.contactId === query.contactId) &&
        (!query.id || c.id === query.id),
    );
    ctx.reply(200, {
      conversations: all.slice(0, limit).map((c) => conversationJson(sim.state, c)),
      total: all.length,
    });
  },
};

const create: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const b = ctx.body as { locationId: string; contactId: string };
    if (!ownsLocation(ctx, b.locationId)) return;
    const s = ctx.sim.state;
    const contact = s.contacts.get(b.contactId);
    if (!contact || contact.locationId !== b.locationId) return ctx.fail(400, "Contact not found");
    // One conversation per contact: GHL refuses a second one and names the existing id.
    const existing = s.conversationOf(b.locationId, b.contactId);
    if (existing) return ctx.fail(400, "Conversation already exists", { conversationId: existing.id });
    const c = ensureConversation(s, b.locationId, b.contactId);
    ctx.reply(201, {
      success: true,
      conversation: {
        id: c.id,
        dateUpdated: c.dateUpdated,
        dateAdded: c.dateAdded,
        deleted: false,
        contactId: c.contactId,
        locationId: c.locationId,
        lastMessageDate: c.lastMessageDate,
      },
    });
  },
};

const customWithoutProvider = (b: Record<string, unknown>) => b.type === "Custom" && !b.conversationProviderId;

const inbound: ApiRoute = {
  auth: "Location",
  skipsValidation: customWithoutProvider,
  handle: (ctx) => handleInbound(ctx),
};

async function handleInbound(ctx: Parameters<ApiRoute["handle"]>[0]): Promise<void> {
  const b = ctx.body as Record<string, any>;
  const { sim } = ctx;
  const s = sim.state;
  const contact = typeof b.contactId === "string" ? s.contacts.get(b.contactId) : undefined;
  if (!contact) return ctx.fail(400, "Contact not found");
  if (!ownsLocation(ctx, contact.locationId)) return;
  const conv = b.conversationId ? s.conversations.get(b.conversationId) : undefined;
  if (b.conversationId && (!conv || conv.contactId !== contact.id)) return ctx.fail(400, "Conversation not found");
  if (b.conversationProviderId && b.conversationProviderId !== sim.cfg.conversationProviderId) {
    return ctx.fail(400, "Conversation provider not found");
  }
  const messageId = ghlId();
  const at = nowIso();
  const direction: "inbound" | "outbound" = b.direction === "outbound" ? "outbound" : "inbound";
  const attachments: string[] = Array.isArray(b.attachments) ? b.attachments : [];
  const duplicateAltId =
    !!b.altId && s.inbound.some((r) => r.altId === b.altId && r.locationId === contact.locationId && !r.dropped);
  // GHL's quiet failure: a Custom message without its provider id is acknowledged and never shown.
  const dropped = customWithoutProvider(b);
  if (dropped) ctx.dropped = "type Custom without conversationProviderId";
  const conversation = conv ?? ensureConversation(s, contact.locationId, contact.id);
  // GHL takes the message's own date (an import of past messages): the conversation shows it there
  const dateAdded =
    typeof b.date === "string" && !Number.isNaN(Date.parse(b.date)) ? new Date(b.date).toISOString() : at;
  s.inbound.push({
    messageId,
    locationId: contact.locationId,
    contactId: contact.id,
    conversationId: conversation.id,
    type: b.type,
    message: b.message,
    attachments,
    altId: b.altId,
    direction,
    date: b.date,
    conversationProviderId: b.conversationProviderId,
    dropped,
    ...(dropped ? { dropReason: "type Custom without conversationProviderId" } : {}),
    duplicateAltId,
    at,
    contact: { id: contact.id, phone: contact.phone, name: contact.name },
  });
  if (!dropped) {
    s.messages.set(messageId, {
      id: messageId,
      locationId: contact.locationId,
      contactId: contact.id,
      conversationId: conversation.id,
      direction,
      type: b.type,
      body: b.message ?? "",
      attachments,
      status: direction === "inbound" ? "delivered" : "sent",
      statuses: [],
      createdAt: at,
      dateAdded,
      altId: b.altId,
      source: "api",
    });
    conversation.dateUpdated = at;
    // an older message (imported history) does not become the conversation's last one
    if (dateAdded >= conversation.lastMessageDate || conversation.lastMessageBody === "") {
      conversation.lastMessageBody = b.message ?? "";
      conversation.lastMessageDate = dateAdded;
      conversation.lastMessageDirection = direction;
    }
  }
  ctx.reply(201, {
    success: true,
    conversationId: conversation.id,
    messageId,
    message: "Message queued successfully.",
    contactId: contact.id,
    dateAdded,
  });
}

const status: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const { sim } = ctx;
    const m = sim.state.messages.get(ctx.pathParams.messageId);
    if (!m) return ctx.fail(400, "Message not found");
    if (!ownsLocation(ctx, m.locationId)) return;
    const b = ctx.body as { status: string; error?: { code: string; type: string; message: string } };
    // Right after a Delivery URL call GHL may not yet link the message to the provider (docs/ghl.md#message-status).
    if (m.deliveredToAppAt && Date.now() - m.deliveredToAppAt < sim.cfg.providerRaceMs) {
      return ctx.fail(403, "No conversation provider found");
    }
    if (m.direction !== "outbound") return ctx.fail(400, "Status can only be updated for outbound messages");
    m.status = b.status;
    m.statuses.push({ status: b.status, ...(b.error ? { error: b.error } : {}), at: nowIso() });
    ctx.reply(200, { conversationId: m.conversationId, messageId: m.id, status: b.status });
  },
};

const ALLOWED = /\.(jpe?g|png|mp4|mpeg|zip|rar|pdf|docx?|txt|mp3|wav|ogg|oga|opus|webp|gif|m4a|aac|amr|3gp)$/i;

const upload: ApiRoute = {
  auth: "Location",
  normalize: (b) => (typeof b.attachmentUrls === "string" ? { ...b, attachmentUrls: [b.attachmentUrls] } : b),
  handle(ctx) {
    const { sim } = ctx;
    const b = ctx.body as { locationId: string; contactId: string; conversationId: string; attachmentUrls?: string[] };
    if (!ownsLocation(ctx, b.locationId)) return;
    const files = ctx.files.filter((f) => f.field === "fileAttachment");
    if (!files.length && !b.attachmentUrls?.length)
      return ctx.fail(422, ["fileAttachment or attachmentUrls should not be empty"]);
    const conv = sim.state.conversations.get(b.conversationId);
    if (!conv || conv.locationId !== b.locationId || conv.contactId !== b.contactId)
      return ctx.fail(400, "Conversation not found");
    const uploadedFiles: Record<string, string> = {};
    for (const f of files) {
      if (f.data.length > sim.cfg.uploadMaxBytes)
        return ctx.reply(413, { status: 413, message: "File size exceeds the limit" });
      if (!ALLOWED.test(f.name)) return ctx.reply(415, { status: 415, message: `Unsupported file type: ${f.name}` });
      const id = ghlId();
      sim.state.uploads.set(id, { id, name: f.name, contentType: f.type, data: f.data, locationId: b.locationId });
      // Like GHL's storage URLs: public, no query string.
      uploadedFiles[f.name] = `${sim.cfg.url}/__sandbox/files/${id}/${encodeURIComponent(f.name)}`;
    }
    for (const u of b.attachmentUrls ?? []) uploadedFiles[u.split("/").pop() || u] = u;
    ctx.reply(200, { uploadedFiles });
  },
};

export const conversationsRoutes: Record<string, ApiRoute> = {
  "search-conversation": search,
  "create-conversation": create,
  "add-an-inbound-message": inbound,
  "update-message-status": status,
  "upload-file-attachments": upload,
};
