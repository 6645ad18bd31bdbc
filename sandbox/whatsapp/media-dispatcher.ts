// Baileys downloads history blobs by `directPath` alone, from WhatsApp's media host
// (https://mmg.whatsapp.net<directPath>, Utils/messages-media.js): a notification has no URL. A
// client of the simulator therefore routes that host's connections to the simulator's media host
// and trusts its certificate (README.md, "Client configuration"). Tests' clients use this one.
import { Agent, buildConnector } from "undici";

/** An undici dispatcher (Baileys' `options.dispatcher`) that sends every connection to `mediaHost` ("host:port"). */
export function mediaHostDispatcher(mediaHost: string, caPem: string): Agent {
  const [hostname, port] = splitHost(mediaHost);
  const connector = buildConnector({ ca: caPem });
  return new Agent({
    connect: (opts, cb) =>
      connector(
        {
          ...opts,
          hostname,
          host: `${hostname}:${port}`,
          port: String(port),
          protocol: "https:",
          servername: undefined,
        },
        cb,
      ),
  });
}

function splitHost(h: string): [string, number] {
  const i = h.lastIndexOf(":");
  return [h.slice(0, i), Number(h.slice(i + 1))];
}
