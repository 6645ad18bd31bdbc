import { type ApiRoute, ownsLocation } from "./api-pipeline";
import { ghlId } from "./ids";
import { type Contact, normalizePhone, nowIso, type SimState } from "./state";

export function contactJson(c: Contact): Record<string, unknown> {
  return {
    id: c.id,
    locationId: c.locationId,
    name: c.name,
    firstName: c.firstName,
    lastName: c.lastName,
    firstNameLowerCase: c.firstName?.toLowerCase(),
    lastNameLowerCase: c.lastName?.toLowerCase(),
    fullNameLowerCase: c.name?.toLowerCase(),
    email: c.email,
    emailLowerCase: c.email?.toLowerCase(),
    phone: c.phone,
    source: c.source,
    tags: c.tags,
    type: "lead",
    dnd: false,
    dateAdded: c.dateAdded,
    dateUpdated: c.dateUpdated,
  };
}

// Used by the Delivery simulation too: a GHL user can write to a phone that is not a contact yet.
export function ensureContact(state: SimState, locationId: string, phone: string, name?: string): Contact {
  const e164 = normalizePhone(phone);
  const found = state.contactByPhone(locationId, e164);
  if (found) return found;
  const [firstName, ...rest] = (name ?? "").trim().split(/\s+/).filter(Boolean);
  const c: Contact = {
    id: ghlId(),
    locationId,
    phone: e164,
    name: name?.trim() || undefined,
    firstName,
    lastName: rest.join(" ") || undefined,
    tags: [],
    dateAdded: nowIso(),
    dateUpdated: nowIso(),
  };
  state.contacts.set(c.id, c);
  return c;
}

const duplicate: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const { query, sim } = ctx;
    if (!ownsLocation(ctx, query.locationId)) return;
    const phone = query.number ? normalizePhone(query.number) : undefined;
    const email = query.email?.toLowerCase();
    const c = [...sim.state.contacts.values()].find(
      (x) =>
        x.locationId === query.locationId &&
        ((phone && x.phone === phone) || (email && x.email?.toLowerCase() === email)),
    );
    ctx.reply(200, { contact: c ? contactJson(c) : null });
  },
};

const upsert: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const b = ctx.body as Record<string, any>;
    if (!ownsLocation(ctx, b.locationId)) return;
    const s = ctx.sim.state;
    const { phone, email } = phoneAndEmail(b);
    if (!phone && !email) return ctx.fail(400, "Either phone or email is required");
    let c = [...s.contacts.values()].find(
      (x) =>
        x.locationId === b.locationId &&
        ((phone && x.phone === phone) || (email && x.email?.toLowerCase() === email.toLowerCase())),
    );
    const isNew = !c;
    if (!c) {
      c = { id: ghlId(), locationId: b.locationId, tags: [], dateAdded: nowIso(), dateUpdated: nowIso() };
      s.contacts.set(c.id, c);
    }
    if (phone) c.phone = phone;
    if (email) c.email = email;
    if (b.firstName !== undefined) c.firstName = b.firstName ?? undefined;
    if (b.lastName !== undefined) c.lastName = b.lastName ?? undefined;
    if (b.name) {
      c.name = b.name;
      if (b.firstName === undefined)
        [c.firstName, c.lastName] = [b.name.split(" ")[0], b.name.split(" ").slice(1).join(" ") || undefined];
    } else if (c.firstName || c.lastName) {
      c.name = [c.firstName, c.lastName].filter(Boolean).join(" ");
    }
    if (b.source) c.source = b.source;
    // GHL replaces all tags when `tags` is sent (docs/ghl.md#contacts): imitated, so the app sees the damage.
    if (Array.isArray(b.tags)) c.tags = b.tags;
    c.dateUpdated = nowIso();
    ctx.reply(200, { new: isNew, contact: contactJson(c) });
  },
};

// GHL's "Allow Duplicate Contact" location setting is off by default: a contact may not take a
// phone or email another contact of the location has; the answer names that contact.
function duplicateOf(
  s: SimState,
  locationId: string,
  phone: string | undefined,
  email: string | undefined,
  self?: string,
): Contact | undefined {
  return [...s.contacts.values()].find(
    (x) =>
      x.id !== self &&
      x.locationId === locationId &&
      ((phone && x.phone === phone) || (email && x.email?.toLowerCase() === email.toLowerCase())),
  );
}

function refuseDuplicate(ctx: Parameters<ApiRoute["handle"]>[0], dup: Contact, phone: string | undefined) {
  ctx.fail(400, "This location does not allow duplicated contacts.", {
    meta: { contactName: dup.name, contactId: dup.id, matchingField: phone && dup.phone === phone ? "phone" : "email" },
  });
}

function applyNames(c: Contact, b: Record<string, any>) {
  if (b.firstName !== undefined) c.firstName = b.firstName ?? undefined;
  if (b.lastName !== undefined) c.lastName = b.lastName ?? undefined;
  if (b.name) {
    c.name = b.name;
    if (b.firstName === undefined)
      [c.firstName, c.lastName] = [b.name.split(" ")[0], b.name.split(" ").slice(1).join(" ") || undefined];
  } else if (b.firstName !== undefined || b.lastName !== undefined) {
    c.name = [c.firstName, c.lastName].filter(Boolean).join(" ") || undefined;
  }
}

/** The phone (normalised) and email a contact body names, when given as non-empty strings. */
function phoneAndEmail(b: Record<string, any>): { phone?: string; email?: string } {
  return {
    phone: typeof b.phone === "string" && b.phone ? normalizePhone(b.phone) : undefined,
    email: typeof b.email === "string" && b.email ? b.email : undefined,
  };
}

// POST /contacts/: only locationId is required (CreateContactDto), so a contact may have neither
// phone nor email (a WhatsApp contact known only by its LID is created so).
const create: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const b = ctx.body as Record<string, any>;
    if (!ownsLocation(ctx, b.locationId)) return;
    const s = ctx.sim.state;
    const { phone, email } = phoneAndEmail(b);
    const dup = duplicateOf(s, b.locationId, phone, email);
    if (dup) return refuseDuplicate(ctx, dup, phone);
    const c: Contact = {
      id: ghlId(),
      locationId: b.locationId,
      phone,
      email,
      tags: Array.isArray(b.tags) ? b.tags : [],
      dateAdded: nowIso(),
      dateUpdated: nowIso(),
    };
    applyNames(c, b);
    if (b.source) c.source = b.source;
    s.contacts.set(c.id, c);
    ctx.reply(201, { contact: contactJson(c) });
  },
};

function contactOfCaller(ctx: Parameters<ApiRoute["handle"]>[0]): Contact | undefined {
  const c = ctx.sim.state.contacts.get(ctx.pathParams.contactId);
  if (!c) return void ctx.fail(400, "Contact not found");
  if (!ownsLocation(ctx, c.locationId)) return undefined;
  return c;
}

const get: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const c = contactOfCaller(ctx);
    if (c) ctx.reply(200, { contact: contactJson(c) });
  },
};

// PUT /contacts/{contactId}: the fields sent replace the contact's (`phone: null` clears it).
const update: ApiRoute = {
  auth: "Location",
  handle(ctx) {
    const c = contactOfCaller(ctx);
    if (!c) return;
    const b = ctx.body as Record<string, any>;
    const { phone, email } = phoneAndEmail(b);
    const dup = duplicateOf(ctx.sim.state, c.locationId, phone, email, c.id);
    if (dup) return refuseDuplicate(ctx, dup, phone);
    if (b.phone !== undefined) c.phone = phone;
    if (b.email !== undefined) c.email = email;
    applyNames(c, b);
    if (b.source) c.source = b.source;
    if (Array.isArray(b.tags)) c.tags = b.tags;
    c.dateUpdated = nowIso();
    ctx.reply(200, { succeded: true, contact: contactJson(c) });
  },
};

export const contactsRoutes: Record<string, ApiRoute> = {
  "get-duplicate-contact": duplicate,
  "upsert-contact": upsert,
  "create-contact": create,
  "get-contact": get,
  "update-contact": update,
};
