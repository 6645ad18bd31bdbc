import type { Db } from "../db";
import { noteHealth } from "../health/health-change";
import { recordNumberEvent } from "../health/number-events";
import { metrics } from "../ops/metrics";
import type { GhlJob } from "../queue/ghl-jobs";
import { waErrorReason } from "./wa-error-acks";

const sendErrors = metrics().counter(
  "gw_wa_send_errors_total",
  "Messages WhatsApp answered with an error ack, by code",
);

// WhatsApp receipts → our message status → GHL status (the states after SENT of the machine in
// ./outbound-queue.ts). proto WebMessageInfo.Status:
// 0 ERROR, 1 PENDING, 2 SERVER_ACK, 3 DELIVERY_ACK, 4 READ, 5 PLAYED. Statuses only move forward
// (a late "delivered" after "read" changes nothing).
const RANK = { SENDING: 0, SENT: 1, DELIVERED: 2, READ: 3 } as const;

/** `code`: with status 0, the error WhatsApp acked the message with (e.g. "463") */
export type Receipt = { waMessageId: string; status: number; code?: string };

export async function applyReceipts(
  db: Db,
  instanceId: string,
  receipts: Receipt[],
  notifyGhl: (j: GhlJob) => Promise<unknown>,
) {
  for (const r of receipts) {
    const target =
      r.status >= 4
        ? "READ"
        : r.status === 3
          ? "DELIVERED"
          : r.status === 2
            ? "SENT"
            : r.status === 0
              ? "FAILED"
              : null;
    if (!target) continue;
    const reason = target === "FAILED" ? waErrorReason(r.code) : undefined;
    const m = await moveTo(db, instanceId, r.waMessageId, target, reason);
    if (!m) continue;
    if (target === "FAILED") {
      sendErrors.inc({ code: r.code ?? "unknown" });
      await noteErrorAck(db, m.locationId, instanceId, r.code);
    }
    if (!m.ghlMessageId || target === "SENT") continue;
    await notifyGhl({
      kind: "status",
      locationId: m.locationId,
      messageId: m.id,
      ghlMessageId: m.ghlMessageId,
      status: target === "READ" ? "read" : target === "DELIVERED" ? "delivered" : "failed",
      ...(reason ? { error: reason } : {}),
    });
  }
}

/**
 * An error ack counts against the number's health (lib/health/): recorded, and the number judged
 * again. Health is advice, never a reason to lose a receipt: a failure here is swallowed.
 */
async function noteErrorAck(db: Db, locationId: string, instanceId: string, code: string | undefined) {
  try {
    await recordNumberEvent(db, { locationId, instanceId, kind: "error_ack", code: code ?? null });
    await noteHealth(db, locationId, instanceId, new Date());
  } catch {
    // the next event or send judges the number again
  }
}

/**
 * Moves the message to `target` if that is forward (FAILED: from anything but FAILED), as a
 * compare-and-set on the status read: a receipt racing the send loop's own SENDING → SENT (an
 * error ack or a delivery can land before `sendMessage` has returned) reads again and retries,
 * rather than losing itself to the status it was not written against. The row moved, or null.
 */
async function moveTo(
  db: Db,
  instanceId: string,
  waMessageId: string,
  target: keyof typeof RANK | "FAILED",
  reason?: string,
) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const m = await db.message.findUnique({
      where: { instanceId_waMessageId: { instanceId, waMessageId } },
      select: { id: true, status: true, locationId: true, ghlMessageId: true, direction: true },
    });
    if (!m || m.direction !== "OUTBOUND") return null;
    if (target !== "FAILED" && (RANK[m.status as keyof typeof RANK] ?? 99) >= RANK[target]) return null;
    if (target === "FAILED" && m.status === "FAILED") return null;
    const now = new Date();
    const updated = await db.message.updateMany({
      where: { id: m.id, locationId: m.locationId, status: m.status },
      data: {
        status: target,
        ...(target === "DELIVERED" ? { deliveredAt: now } : {}),
        ...(target === "READ" ? { readAt: now } : {}),
        ...(reason ? { error: reason } : {}),
      },
    });
    if (updated.count) return m;
  }
  return null;
}
