import type { GhlSimulatorConfig } from "./config";
import type { OpenApi } from "./openapi-schemas";
import type { SimState } from "./state";
import type { WebhookSender } from "./webhooks";

// What every route handler gets: config, the current state (replaced on reset), and the senders.
export interface Sim {
  cfg: GhlSimulatorConfig;
  state: SimState;
  webhooks: WebhookSender;
  openapi: OpenApi;
  reset(seed?: boolean): void;
}
