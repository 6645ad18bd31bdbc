import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import type { Db } from "@/lib/db";
import { webhookKeys } from "@/lib/ghl/webhook-verify";
import { acceptDelivery } from "@/lib/messages/delivery";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import { type GhlSimulator, startGhlSimulator } from "@/sandbox/ghl/server";

/**
 * The GHL simulator, with what the app's Delivery URL does on a port of its own for it to call:
 * the signed body checked against the simulator's keys, the message stored, the number's send
 * loop woken. `to` is read when a call comes, so the worker's fixture may be made afterwards.
 */
export async function ghlWithDelivery(o: {
  to: () => { db: Db; redis: Redis };
  seed: boolean;
  allowedMediaOrigins?: string[];
}): Promise<{ ghl: GhlSimulator; delivery: Server }> {
  let ghl: GhlSimulator | undefined;
  const delivery = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    try {
      const { db, redis } = o.to();
      const keys = webhookKeys({ ed25519: ghl!.config.publicKeys.ed25519, rsa: ghl!.config.publicKeys.rsa });
      const r = await acceptDelivery(
        { db, redis, keys, allowUnsigned: false, allowedMediaOrigins: o.allowedMediaOrigins },
        Buffer.concat(chunks),
        headers,
      );
      if (r.kind === "stored" && r.instanceId) await publishOutboundQueued(redis, r.instanceId);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(r));
    } catch (err) {
      res
        .writeHead((err as { status?: number }).status ?? 500, { "content-type": "application/json" })
        .end(JSON.stringify({ error: String(err) }));
    }
  });
  await new Promise<void>((r) => delivery.listen(0, "127.0.0.1", () => r()));
  ghl = await startGhlSimulator({
    port: 0,
    seed: o.seed,
    deliveryUrl: `http://127.0.0.1:${(delivery.address() as AddressInfo).port}/api/ghl/delivery`,
  });
  return { ghl, delivery };
}
