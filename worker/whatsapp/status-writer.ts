import type { Redis } from "ioredis";
import type { Logger } from "pino";
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

  constructor(
    private db: Db,
    private redis: Redis,
    private ctx: { instanceId: string; locationId: string },
    private log: Logger,
  ) {}

  mute() {
    this.muted = true;
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
      if (status === "ONLINE") await markLinked(this.db, id, locationId, x.phone ?? undefined, x.connectedAt ?? new Date());
      const r = await this.db.instance.updateMany({ where: { id, locationId }, data });
      if (r.count === 0) return; // deleted meanwhile: nobody to tell
      // a QR rotation repeats "QR" every 20 s: one status event is enough, the qr events carry the rest
      if (status === this.last && status === "QR") return;
      this.last = status;
      const row = x.phone === undefined ? await this.db.instance.findFirst({ where: { id, locationId }, select: { phone: true, lastError: true } }) : null;
      const phone = x.phone ?? row?.phone ?? undefined;
      const lastError = x.lastError !== undefined ? x.lastError : row?.lastError;
      await this.publish({
        type: "instance.status", instanceId: id, status, at: new Date().toISOString(),
        ...(phone ? { phone } : {}), ...(lastError ? { lastError } : {}),
      });
      this.log.info({ status, lastError }, "instance status");
      await this.noteForHealth(status, lastError);
    } catch (err) {
      this.log.warn({ err, status }, "instance status not recorded");
    }
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
    await this.redis.publish(eventsChannel(this.ctx.locationId), JSON.stringify(ev)).catch((err) => this.log.warn({ err }, "event not published"));
  }
}
