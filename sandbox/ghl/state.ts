// Everything the simulator remembers lives here, in memory: a reset is `new SimState()`.

export interface Company {
  id: string;
  name: string;
  createdAt: string;
}
export interface Location {
  id: string;
  companyId: string;
  name: string;
  address: string;
  createdAt: string;
}
export interface User {
  id: string;
  companyId: string;
  locationId?: string;
  name: string;
  email: string;
  role: "admin" | "user";
  type: "agency" | "location";
  /** GHL's roles.locationIds: the sub-accounts a location user belongs to, or an agency user is limited to */
  locationIds: string[];
  /** GHL's roles.restrictSubAccount: an agency user limited to `locationIds` */
  restrictSubAccount: boolean;
}
export interface CompanyInstall {
  companyId: string;
  approvedLocations: string[];
  installToFutureLocations: boolean;
  installedAt: string;
  userId: string;
  scopes: string[];
}
export interface LocationInstall {
  locationId: string;
  companyId: string;
  installedAt: string;
  userId?: string;
  via: "location" | "bulk" | "future" | "webhook";
  scopes: string[];
}
export interface AuthCode {
  code: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  userId: string;
  userType: "Company" | "Location";
  companyId: string;
  locationId?: string;
  expiresAt: number;
  usedAt?: number;
}
export interface TokenGrant {
  id: string;
  userType: "Company" | "Location";
  companyId: string;
  locationId?: string;
  scopes: string[];
  userId: string;
  accessToken: string;
  refreshToken: string;
  issuedAt: number;
  accessExpiresAt: number;
  refreshExpiresAt: number;
  refreshUsedAt?: number;
  revokedAt?: number;
  via: "authorization_code" | "refresh_token" | "locationToken";
}
export interface Contact {
  id: string;
  locationId: string;
  phone?: string;
  email?: string;
  name?: string;
  firstName?: string;
  lastName?: string;
  source?: string;
  tags: string[];
  dateAdded: string;
  dateUpdated: string;
}
export interface Conversation {
  id: string;
  locationId: string;
  contactId: string;
  dateAdded: string;
  dateUpdated: string;
  lastMessageDate: string;
  lastMessageBody: string;
  lastMessageDirection?: "inbound" | "outbound";
}
export interface StatusUpdate {
  status: string;
  error?: { code: string; type: string; message: string };
  at: string;
}
export interface Message {
  id: string;
  locationId: string;
  contactId: string;
  conversationId: string;
  direction: "inbound" | "outbound";
  type: string;
  body: string;
  attachments: string[];
  status: string;
  statuses: StatusUpdate[];
  createdAt: string;
  altId?: string;
  userId?: string;
  /** the date GHL shows and orders the conversation by: the `date` the app gave, else when it arrived */
  dateAdded?: string;
  source: "delivery" | "api";
  deliveredToAppAt?: number;
  /** the Delivery URL call (first sent `at`): every attempt, the last one being its current answer (GHL resends a 429) */
  delivery?: { payload: unknown; at: string } & Retried;
}
export interface InboundRecord {
  messageId: string;
  locationId: string;
  contactId: string;
  conversationId?: string;
  type: string;
  message?: string;
  attachments: string[];
  altId?: string;
  direction: "inbound" | "outbound";
  date?: string;
  conversationProviderId?: string;
  dropped: boolean;
  dropReason?: string;
  duplicateAltId: boolean;
  at: string;
  contact?: { id: string; phone?: string; name?: string };
}
export interface Upload {
  id: string;
  name: string;
  contentType: string;
  data: Buffer;
  locationId: string;
}
export interface Fault {
  id: string;
  path: string;
  method?: string;
  locationId?: string;
  status?: number;
  remaining: number;
  delayMs: number;
  message?: string;
}
export interface CallRecord {
  id: number;
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: { version?: string; contentType?: string };
  locationId?: string;
  companyId?: string;
  status: number;
  requestBody?: unknown;
  responseBody?: unknown;
  traceId: string;
  durationMs: number;
  dropped?: string;
}
/** One call GHL makes and keeps making while it is answered 429: every attempt, and whether it gave up or got through. */
export interface Retried {
  attempts: Attempt[];
  done: boolean;
  nextAttemptAt?: string;
}
export interface Attempt {
  at: string;
  status: number | null;
  error?: string;
  retryAfter?: string;
}

export interface WebhookRecord extends Retried {
  /** the body's webhookId, or the simulator's own record id for events GHL sends without one */
  webhookId: string;
  kind: "INSTALL" | "UNINSTALL" | "LocationUpdate";
  url: string;
  body: unknown;
}

export class SimState {
  companies = new Map<string, Company>();
  locations = new Map<string, Location>();
  users = new Map<string, User>();
  companyInstalls = new Map<string, CompanyInstall>();
  locationInstalls = new Map<string, LocationInstall>();
  codes = new Map<string, AuthCode>();
  grants: TokenGrant[] = [];
  contacts = new Map<string, Contact>();
  conversations = new Map<string, Conversation>();
  messages = new Map<string, Message>();
  inbound: InboundRecord[] = [];
  uploads = new Map<string, Upload>();
  faults: Fault[] = [];
  calls: CallRecord[] = [];
  webhooks: WebhookRecord[] = [];
  rate = new Map<string, { window: number[]; day: number; dayStart: number }>();
  nextCallId = 1;

  locationsOf(companyId: string): Location[] {
    return [...this.locations.values()].filter((l) => l.companyId === companyId);
  }
  conversationOf(locationId: string, contactId: string): Conversation | undefined {
    return [...this.conversations.values()].find((c) => c.locationId === locationId && c.contactId === contactId);
  }
  contactByPhone(locationId: string, phone: string): Contact | undefined {
    return [...this.contacts.values()].find((c) => c.locationId === locationId && c.phone === phone);
  }
  adminOf(locationId: string): User | undefined {
    return [...this.users.values()].find((u) => u.locationId === locationId && u.role === "admin");
  }
  agencyAdminOf(companyId: string): User | undefined {
    return [...this.users.values()].find((u) => u.companyId === companyId && u.type === "agency" && u.role === "admin");
  }
}

export function nowIso(): string {
  return new Date().toISOString();
}

// GHL stores phones as E.164; a number without a country code is taken as US (+1), like a US location.
export function normalizePhone(raw: string): string {
  const digits = raw.replace(/\D/g, "");
  if (raw.trim().startsWith("+")) return `+${digits}`;
  return digits.length === 10 ? `+1${digits}` : `+${digits}`;
}
