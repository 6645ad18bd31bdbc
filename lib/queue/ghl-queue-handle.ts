import type { Queue } from "bullmq";
import { createRedis } from "../redis";
import { ghlQueue } from "./ghl-jobs";

// The app's handle on the GHL queue (dead letters in the panel, metrics), on its own connection.
let q: Queue | undefined;
export function appGhlQueue(): Queue {
  q ??= ghlQueue(createRedis({ maxRetriesPerRequest: null }));
  return q;
}
