import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { alertOnStatus, DISCONNECT_GRACE_MS, stillDisconnected } from "@/lib/alerts/alert-rules";
import { raiseNumberAlert } from "@/lib/alerts/raise-number-alert";
import type { Db } from "@/lib/db";
import type { InstanceStatusValue } from "@/lib/enum-schemas";
import type { InstanceEvent } from "@/lib/events/live-events";
import { markLinked } from "@/lib/governor/governor";
import { noteHealth } from "@/lib/health/health-change";
import { healthEventOfStatus, recordNumberEvent } from "@/lib/health/number-events";
import { eventsChannel } from "@/lib/instances/events";

// Status of one instance: the Instance row (for the panel's first paint and the API) and a live
// event on the location's channel (for the panel's SSE). Muted once the lease is lost, because
// from then on the new owner's view is the truth and a late write here would overwrite it.

export type StatusExtra = {
  lastError?: string | null;
  phone?: string | null;
  waJid?: string | null;
  connectedAt?: Date;
  desiredStopped?: boolean;
};

export class StatusWriter {
  private muted = false;
  private last?: InstanceStatusValue;
  private graceTimer?: NodeJS.Timeout;

  constructor(
    private db: Db,
    private redis: Redis,
    private ctx: { instanceId: string; locationId: string },
    private log: Logger,
    /** how long a reconnect may last before it is an alert (ALERT_DISCONNECT_GRACE_MS) */
    private alertGraceMs = DISCONNECT_GRACE_MS,
  ) {}

  mute() {
    this.muted = true;
    this.clearGrace();
  }

  async set(status: InstanceStatusValue, x: StatusExtra): Promise<void> {
    if (this.muted) return;
    const { instanceId: id, locationId } = this.ctx;
    const data: Record<string, unknown> = { status };
    if (x.lastError !== undefined) data.lastError = x.lastError;
    if (x.phone !== undefined) data.phone = x.phone;
    if (x.waJid !== undefined) data.waJid = x.waJid;
    if (x.connectedAt) data.connectedAt = x.connectedAt;
    if (x.desiredStopped) data.desiredState = "STOPPED";
    try {
      // before the phone is overwritten: a first link, or a new phone, starts the number's age
      if (status === "ONLINE")
        await markLinked(this.db, id, locationId, x.phone ?? undefined, x.connectedAt ?? new Date());
      const r = await this.db.instance.updateMany({ where: { id, locationId }, data });
      if (r.count === 0) return; // deleted meanwhile: nobody to tell
      // a QR rotation repeats "QR" every 20 s: one status event is enough, the qr events carry the rest
      if (status === this.last && status === "QR") return;
      this.last = status;
      const row =
        x.phone === undefined
          ? await this.db.instance.findFirst({ where: { id, locationId }, select: { phone: true, lastError: true } })
          : null;
      const phone = x.phone ?? row?.phone ?? undefined;
      const lastError = x.lastError !== undefined ? x.lastError : row?.lastError;
      await this.publish({
        type: "instance.status",
        instanceId: id,
        status,
        at: new Date().toISOString(),
        ...(phone ? { phone } : {}),
        ...(lastError ? { lastError } : {}),
      });
      this.log.info({ status, lastError }, "instance status");
      await this.alertOn(status, lastError ?? null);
      await this.noteForHealth(status, lastError);
    } catch (err) {
      this.log.warn({ err, status }, "instance status not recorded");
    }
  }

  // Alerts (lib/alerts/alert-rules.ts): a logout or ban at once; a reconnect only if the number
  // is still away when the grace is over, read from Postgres then (another worker may have
  // brought it back meanwhile). The timer is this process's: a worker that dies during the grace
  // leaves the alert to the next status the new owner writes (docs/architecture.md#number-alerts).
  private async alertOn(status: InstanceStatusValue, reason: string | null) {
    const d = alertOnStatus(status);
    if (d.kind !== "after-grace") this.clearGrace();
    if (d.kind === "now") {
      await raiseNumberAlert(this.db, { ...this.ctx, status: d.status, reason }).catch((err) =>
        this.log.warn({ err, status }, "alert not raised"),
      );
    } else if (d.kind === "after-grace" && !this.graceTimer) {
      this.graceTimer = setTimeout(() => void this.graceOver(), this.alertGraceMs);
      this.graceTimer.unref?.();
    }
  }

  private async graceOver() {
    this.graceTimer = undefined;
    if (this.muted) return;
    try {
      const row = await this.db.instance.findFirst({
        where: { id: this.ctx.instanceId, locationId: this.ctx.locationId },
        select: { status: true, lastError: true, desiredState: true },
      });
      if (!row || row.desiredState !== "RUNNING" || !stillDisconnected(row.status)) return;
      await raiseNumberAlert(this.db, { ...this.ctx, status: "DISCONNECTED", reason: row.lastError });
    } catch (err) {
      this.log.warn({ err }, "disconnect alert not raised");
    }
  }

  private clearGrace() {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  /** reconnects, logouts and bans count against the number's health (lib/health/) */
  private async noteForHealth(status: InstanceStatusValue, lastError: string | null | undefined) {
    const kind = healthEventOfStatus(status, lastError);
    if (!kind) return;
    const { instanceId, locationId } = this.ctx;
    await recordNumberEvent(this.db, { locationId, instanceId, kind })
      .then(() => noteHealth(this.db, locationId, instanceId, new Date()))
      .catch((err) => this.log.warn({ err }, "health event not recorded"));
  }

  async publish(ev: InstanceEvent): Promise<void> {
    if (this.muted) return;
    await this.redis
      .publish(eventsChannel(this.ctx.locationId), JSON.stringify(ev))
      .catch((err) => this.log.warn({ err }, "event not published"));
  }
}
