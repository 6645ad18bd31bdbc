import type { Redis } from "ioredis";
import { z } from "zod";
import type { Db } from "../db";
import * as instances from "../instances/instances";
import { patchLocationSettings } from "../tenants/settings";

// Per-number actions by id (panel buttons; also open to API keys).
export const instanceActionSchema = z.enum(["start", "stop", "restart", "logout", "pairing-code", "default"]);
export type InstanceAction = z.infer<typeof instanceActionSchema>;
export const pairingBodySchema = z.object({
  phone: z.string().min(6).max(24).describe("International format, e.g. +15551234567"),
});

export async function runInstanceAction(
  db: Db,
  redis: Redis,
  locationId: string,
  id: string,
  action: InstanceAction,
  body: unknown,
) {
  switch (action) {
    case "start":
      return instances.setDesiredState(db, redis, locationId, id, "RUNNING");
    case "stop":
      return instances.setDesiredState(db, redis, locationId, id, "STOPPED");
    case "restart":
      return instances.restart(db, redis, locationId, id);
    case "logout":
      await instances.requestLogout(db, redis, locationId, id);
      return instances.get(db, locationId, id);
    case "pairing-code":
      await instances.requestPairingCode(db, redis, locationId, id, pairingBodySchema.parse(body).phone);
      return instances.get(db, locationId, id);
    case "default": {
      const inst = await instances.get(db, locationId, id);
      await patchLocationSettings(db, locationId, { defaultInstanceId: inst.id });
      return inst;
    }
  }
}
