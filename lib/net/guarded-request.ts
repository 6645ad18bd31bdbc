import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http, { type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { isSpecialAddress } from "./special-address";

// One HTTP request to a URL someone else chose (a media URL, an outgoing webhook) that cannot
// reach our own network. The check is made on the address actually connected to: the resolver
// runs once, inside the socket's own `lookup`, and every address it returns must be public
// before the socket connects; the peer address is checked again once connected. A name that
// resolves to a public address for a check and to 127.0.0.1 for the connection (DNS rebinding)
// therefore has nothing to slip through. An origin on the allow-list (the sandbox's own
// simulators) skips the address check. Redirects are not followed here: a caller that follows
// them calls again for each hop, so each hop is checked.

export type Resolver = (host: string) => Promise<LookupAddress[]>;
export type GuardOptions = {
  /** `http(s)://host[:port]` origins that may be on private addresses (normalised by lib/env.ts) */
  allowedOrigins?: readonly string[];
  /** tests: replaces the system resolver (it is still the only resolution made) */
  resolve?: Resolver;
};
export type GuardedRequestInit = GuardOptions & {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  signal?: AbortSignal;
};

/** The host resolves to (or is) an address that is not globally reachable. */
export class BlockedAddressError extends Error {
  readonly code = "EBLOCKEDADDRESS";
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} is on a private or reserved network (${address})`);
    this.name = "BlockedAddressError";
  }
}

export function isAllowedOrigin(u: URL, allowed: readonly string[] | undefined): boolean {
  return !!allowed?.length && allowed.includes(u.origin);
}

/**
 * Why a URL can be refused without a request, from its text alone: a literal private or reserved
 * address, or a `localhost` name. Null when only a request can tell (names are resolved then).
 */
export function literalAddressProblem(u: URL, allowed: readonly string[] | undefined): string | null {
  if (isAllowedOrigin(u, allowed)) return null;
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return `${host} is a loopback name`;
  if (isIP(host) && isSpecialAddress(host)) return `${host} is a private or reserved address`;
  return null;
}

export function guardedRequest(url: URL, o: GuardedRequestInit = {}): Promise<IncomingMessage> {
  const allowed = isAllowedOrigin(url, o.allowedOrigins);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // a literal address is never passed to `lookup` by node:net, so it is judged here
  if (!allowed && isIP(host) && isSpecialAddress(host)) return Promise.reject(new BlockedAddressError(host, host));
  const mod = url.protocol === "https:" ? https : http;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: o.method ?? "GET",
        headers: o.headers,
        signal: o.signal,
        agent: false, // no pooled socket: each request resolves and is checked on its own
        ...(allowed ? {} : { lookup: guardedLookup(o.resolve) }),
      },
      (res) => {
        const peer = res.socket?.remoteAddress ?? "";
        if (!allowed && (!peer || isSpecialAddress(peer))) {
          res.destroy();
          return reject(new BlockedAddressError(host, peer || "unknown"));
        }
        resolve(res);
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

/** A `lookup` for node:net that refuses the connection when any resolved address is special. */
function guardedLookup(resolver?: Resolver): LookupFunction {
  const resolveAll: Resolver =
    resolver ??
    ((host) =>
      new Promise((ok, fail) => dnsLookup(host, { all: true }, (err, addrs) => (err ? fail(err) : ok(addrs)))));
  return (hostname, options, callback) => {
    resolveAll(hostname).then(
      (all) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const addrs = family ? all.filter((a) => a.family === family) : all;
        if (addrs.length === 0)
          return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: "ENOTFOUND" }), "", 0);
        const bad = addrs.find((a) => isSpecialAddress(a.address));
        if (bad) return callback(new BlockedAddressError(hostname, bad.address), "", 0);
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addrs);
        callback(null, addrs[0].address, addrs[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}
