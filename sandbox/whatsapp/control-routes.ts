// The control API under /__sandbox/ (its calls: docs/sandbox.md#whatsapp-control-calls).
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { applyFault, unlinkDevice } from "./faults";
import { sendFromMember } from "./group-messages";
import { changeMembers, createGroup, findGroup, type Group, groupView } from "./groups";
import { addHistory } from "./history";
import { sendFromContact, sendReceipts } from "./inbound-messages";
import { MAX_GENERATED_BYTES } from "./media-store";
import { sendFromOwnerPhone } from "./owner-phone";
import { enterPairingCode, PairingError, scanQr } from "./pairing";
import type { Sim } from "./sim";
import { deviceJid, type LinkedDevice, type Phone, SimState } from "./state";

const digits = z
  .string()
  .transform((s) => s.replace(/[^0-9]/g, ""))
  .pipe(z.string().min(5, "a phone number needs digits"));
const mediaSchema = z
  .object({
    type: z.enum(["image", "video", "audio", "voice", "document", "sticker"]),
    mimetype: z.string().min(1),
    base64: z.string().min(1).optional(),
    size: z.number().int().min(0).max(MAX_GENERATED_BYTES).optional(),
    chunked: z.boolean().optional(),
    fileLength: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    url: z.string().url().max(2000).optional(),
    wrap: z.enum(["ephemeral", "viewOnce", "documentWithCaption"]).optional(),
    caption: z.string().optional(),
    fileName: z.string().optional(),
  })
  .refine((m) => (m.base64 === undefined) !== (m.size === undefined), "media needs exactly one of base64 or size")
  .refine((m) => !m.chunked || m.size !== undefined, "chunked applies to a generated (size) body");
const schemas = {
  phone: z.object({ phone: digits, name: z.string().optional(), hidePhone: z.boolean().optional() }),
  scan: z.object({ qr: z.string().min(1) }),
  pairCode: z.object({
    code: z
      .string()
      .transform((s) => s.replace(/[^0-9A-Za-z]/g, "").toUpperCase())
      .pipe(z.string().length(8)),
  }),
  unlink: z.object({ deviceId: z.number().int().optional() }),
  send: z
    .object({
      to: digits,
      text: z.string().optional(),
      media: mediaSchema.optional(),
      asLid: z.boolean().optional(),
    })
    .refine((b) => b.text !== undefined || b.media !== undefined, "text or media is required"),
  group: z.object({
    subject: z.string().min(1).max(100),
    members: z.array(digits).min(1).max(1024),
    addressingMode: z.enum(["lid", "pn"]).optional(),
  }),
  groupMembers: z
    .object({ add: z.array(digits).max(1024).optional(), remove: z.array(digits).max(1024).optional() })
    .refine((b) => (b.add?.length ?? 0) + (b.remove?.length ?? 0) > 0, "add or remove someone"),
  groupSend: z
    .object({ from: digits, text: z.string().optional(), media: mediaSchema.optional() })
    .refine((b) => b.text !== undefined || b.media !== undefined, "text or media is required"),
  history: z.object({
    chats: z
      .array(
        z.object({
          with: digits,
          messages: z
            .array(
              z
                .object({
                  fromMe: z.boolean(),
                  text: z.string().optional(),
                  media: z
                    .object({
                      type: z.enum(["image", "video", "audio", "voice", "document", "sticker"]),
                      mimetype: z.string().min(1),
                      base64: z.string().min(1),
                      caption: z.string().optional(),
                      fileName: z.string().optional(),
                    })
                    .optional(),
                  at: z.union([
                    z.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO date"),
                    z.number().int().positive(),
                  ]),
                })
                .refine((m) => m.text !== undefined || m.media !== undefined, "text or media is required"),
            )
            .max(100_000),
        }),
      )
      .max(10_000),
  }),
  restrict: z.object({ reachout: z.enum(["locked", "open"]) }),
  receipts: z.object({ messageIds: z.array(z.string()).min(1), type: z.enum(["delivered", "read"]) }),
  fault: z
    .object({
      phone: digits.optional(),
      kind: z.enum([
        "drop",
        "stream-error",
        "delay-acks",
        "ban",
        "unban",
        "unlink",
        "nack",
        "undecryptable",
        "garbled",
      ]),
      code: z.number().int().optional(),
      delayMs: z.number().int().min(0).optional(),
      count: z.number().int().min(1).optional(),
    })
    .refine((b) => b.kind !== "nack" || b.code !== undefined, "a nack needs the error code (e.g. 479)")
    .refine((b) => b.kind !== "undecryptable" || b.phone !== undefined, "undecryptable needs the contact's phone")
    .refine((b) => b.kind !== "garbled" || b.phone !== undefined, "garbled needs the contact's phone"),
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (sim: Sim, m: RegExpExecArray, body: () => Promise<unknown>) => Promise<unknown> | unknown;
const routes: [string, RegExp, Handler][] = [
  [
    "GET",
    /^\/__sandbox\/health$/,
    (sim) => ({
      ok: true,
      devices: sim.state.linkedDevices().length,
      phones: sim.state.phones.size,
      rootPublicKey: sim.identity.root.public.toString("hex"),
      mediaCaPem: sim.mediaCaPem,
      memory: memory(),
    }),
  ],
  [
    "POST",
    /^\/__sandbox\/reset$/,
    (sim) => {
      for (const c of sim.connections) c.drop();
      sim.state = new SimState();
      sim.media.clear();
      sim.pendingRefs.clear();
      sim.pendingCodes.clear();
      return { ok: true };
    },
  ],
  // what the media host holds and how much of each blob it has served (how far a client read)
  ["GET", /^\/__sandbox\/media$/, (sim) => sim.media.stats()],
  ["GET", /^\/__sandbox\/phones$/, (sim) => [...sim.state.phones.values()].map(phoneView)],
  [
    "POST",
    /^\/__sandbox\/phones$/,
    async (sim, _m, body) => {
      const b = parse(schemas.phone, await body());
      return phoneView(sim.state.addPhone(b.phone, b.name, b.hidePhone));
    },
  ],
  ["GET", /^\/__sandbox\/devices$/, (sim) => sim.state.linkedDevices().map(deviceView)],
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/scan$/,
    async (sim, m, body) => {
      const b = parse(schemas.scan, await body());
      return deviceView(scanQr(sim, phoneOf(sim, m[1]), b.qr));
    },
  ],
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/pair-code$/,
    async (sim, m, body) => {
      const b = parse(schemas.pairCode, await body());
      return deviceView(await enterPairingCode(sim, phoneOf(sim, m[1]), b.code));
    },
  ],
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/unlink$/,
    async (sim, m, body) => {
      const b = parse(schemas.unlink, (await body()) ?? {});
      const phone = phoneOf(sim, m[1]);
      const targets = [...phone.devices.values()].filter((d) => b.deviceId === undefined || d.id === b.deviceId);
      for (const d of targets) unlinkDevice(sim, d);
      return { unlinked: targets.map(deviceJid) };
    },
  ],
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/send$/,
    async (sim, m, body) => {
      const b = parse(schemas.send, await body());
      const from = sim.state.addPhone(normalize(m[1]));
      // a number with linked companions typing on its own phone: the contact gets it, the companions a copy
      if (from.devices.size > 0 && b.to !== from.phone)
        return sendFromOwnerPhone(sim, from, sim.state.addPhone(b.to), b);
      const to = sim.state.phones.get(b.to);
      if (!to || to.devices.size === 0) throw new HttpError(409, "not_linked", `no device is linked to ${b.to}`);
      // a contact that revealed its phone stays LID-addressed, now with sender_pn
      return sendFromContact(sim, from, to, { ...b, asLid: b.asLid ?? from.revealed });
    },
  ],
  // A LID-only contact shares its phone number: from now on its stanzas carry sender_pn (and
  // rc14 stores the LID↔phone mapping from the first of them, as it does with WhatsApp's).
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/reveal$/,
    (sim, m) => {
      const phone = phoneOf(sim, m[1]);
      if (!phone.hidePhone && !phone.revealed)
        throw new HttpError(409, "not_hidden", `${phone.phone} shares its phone number already`);
      phone.hidePhone = false;
      phone.revealed = true;
      return phoneView(phone);
    },
  ],
  ["GET", /^\/__sandbox\/phones\/([^/]+)\/inbox$/, (sim, m) => [...phoneOf(sim, m[1]).inbox.values()]],
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/receipts$/,
    async (sim, m, body) => {
      const b = parse(schemas.receipts, await body());
      return { sent: sendReceipts(sim, phoneOf(sim, m[1]), b.messageIds, b.type) };
    },
  ],
  // The chats the phone holds: sent to each companion it links from now on (history sync)
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/history$/,
    async (sim, m, body) => {
      const b = parse(schemas.history, await body());
      return addHistory(sim, phoneOf(sim, m[1]), b.chats);
    },
  ],
  [
    "POST",
    /^\/__sandbox\/phones\/([^/]+)\/restrict$/,
    async (sim, m, body) => {
      const b = parse(schemas.restrict, await body());
      const phone = phoneOf(sim, m[1]);
      phone.reachout = b.reachout;
      return phoneView(phone);
    },
  ],
  // groups (groups.ts): the members are phones; a linked number takes part through its phone
  ["GET", /^\/__sandbox\/groups$/, (sim) => [...sim.state.groups.values()].map((g) => groupView(sim, g))],
  [
    "POST",
    /^\/__sandbox\/groups$/,
    async (sim, _m, body) => {
      const b = parse(schemas.group, await body());
      return groupView(
        sim,
        createGroup(
          sim,
          b.subject,
          b.members.map((p) => sim.state.addPhone(p)),
          b.addressingMode,
        ),
      );
    },
  ],
  ["GET", /^\/__sandbox\/groups\/([^/]+)$/, (sim, m) => groupView(sim, groupOf(sim, m[1]))],
  [
    "POST",
    /^\/__sandbox\/groups\/([^/]+)\/members$/,
    async (sim, m, body) => {
      const b = parse(schemas.groupMembers, await body());
      const g = groupOf(sim, m[1]);
      changeMembers(sim, g, {
        add: (b.add ?? []).map((p) => sim.state.addPhone(p)),
        remove: (b.remove ?? []).map((p) => phoneOf(sim, p)),
      });
      return groupView(sim, g);
    },
  ],
  ["GET", /^\/__sandbox\/groups\/([^/]+)\/messages$/, (sim, m) => groupOf(sim, m[1]).messages],
  [
    "POST",
    /^\/__sandbox\/groups\/([^/]+)\/send$/,
    async (sim, m, body) => {
      const b = parse(schemas.groupSend, await body());
      const g = groupOf(sim, m[1]);
      const from = phoneOf(sim, b.from);
      if (!g.members.includes(from.phone))
        throw new HttpError(409, "not_member", `${from.phone} is not a member of ${g.jid}`);
      return sendFromMember(sim, g, from, b);
    },
  ],
  [
    "POST",
    /^\/__sandbox\/faults$/,
    async (sim, _m, body) => {
      const b = parse(schemas.fault, await body());
      const targets = b.phone ? [...phoneOf(sim, b.phone).devices.values()] : sim.state.linkedDevices();
      return { affected: applyFault(sim, targets, b.kind, b) };
    },
  ],
];

export async function handleControl(
  sim: Sim,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<boolean> {
  for (const [method, re, handler] of routes) {
    const m = re.exec(path);
    if (!m || req.method !== method) continue;
    try {
      send(res, 200, await handler(sim, m, () => readJson(req)));
    } catch (e) {
      if (e instanceof HttpError) send(res, e.status, { error: { code: e.code, message: e.message } });
      else if (e instanceof PairingError)
        send(res, e.status, { error: { code: "pairing_failed", message: e.message } });
      else throw e;
    }
    return true;
  }
  return false;
}

function memory() {
  // only benchmarks start the simulator with --expose-gc; then heapUsed means live data
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rssMb: Math.round(m.rss / 2 ** 20), heapUsedMb: Math.round(m.heapUsed / 2 ** 20) };
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success)
    throw new HttpError(
      400,
      "bad_request",
      r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "),
    );
  return r.data;
}

function normalize(phone: string): string {
  return decodeURIComponent(phone).replace(/[^0-9]/g, "");
}

function phoneOf(sim: Sim, raw: string): Phone {
  const p = sim.state.phones.get(normalize(raw));
  if (!p) throw new HttpError(404, "not_found", `no phone ${raw}; create it with POST /__sandbox/phones`);
  return p;
}

function groupOf(sim: Sim, raw: string): Group {
  const g = findGroup(sim, raw);
  if (!g) throw new HttpError(404, "not_found", `no group ${raw}; create it with POST /__sandbox/groups`);
  return g;
}

function phoneView(p: Phone) {
  return {
    phone: p.phone,
    name: p.name,
    jid: `${p.phone}@s.whatsapp.net`,
    lid: `${p.lid}@lid`,
    banned: p.banned,
    reachout: p.reachout,
    hidePhone: p.hidePhone,
    revealed: p.revealed,
    devices: [...p.devices.values()].map(deviceJid),
  };
}

function deviceView(d: LinkedDevice) {
  return {
    phone: d.phone,
    jid: deviceJid(d),
    deviceId: d.id,
    connected: !!d.live,
    connections: d.connections,
    maxConcurrentConnections: d.maxConcurrentConnections,
    logins: d.logins,
    pairings: d.pairings,
    offlineQueued: d.offline.length,
    offlineDropped: d.offlineDropped,
    unacked: d.live?.unacked() ?? 0,
    tctokenIssuances: Object.fromEntries(d.tctokenIssuances ?? []),
    retryReceipts: d.retryReceipts ?? {},
    historySyncs: d.historySyncs ?? 0,
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, "bad_json", "body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
