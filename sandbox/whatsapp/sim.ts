// The context every handler receives: state plus the pieces that outlive a reset.
import type { Connection } from "./connection";
import type { MediaStore } from "./media-store";
import type { ServerIdentity } from "./server-identity";
import type { SimState } from "./state";

export interface Sim {
  state: SimState;
  identity: ServerIdentity;
  media: MediaStore;
  /** PEM of the media host's self-signed certificate, for clients that upload */
  mediaCaPem: string;
  /** "127.0.0.1:PORT": the media host named in media_conn answers and media URLs */
  mediaHost: () => string;
  /** QR refs handed to unregistered sockets, so a scan finds the socket that showed the QR */
  pendingRefs: Map<string, Connection>;
  /** sockets that asked for a pairing code, by the phone number they named */
  pendingCodes: Map<string, Connection>;
  connections: Set<Connection>;
}

export const S_WHATSAPP_NET = "s.whatsapp.net";
export const unixNow = () => String(Math.floor(Date.now() / 1000));
