import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

// A TCP hop in front of Postgres or Redis that a test can cut and restore: `stop()` kills every
// connection through it and refuses new ones (what a stopped server looks like to its clients),
// `start()` listens again on the same port; `freeze()` keeps every connection open but lets
// nothing through (a server that hangs) until `thaw()`. Lets a test take "Postgres" away from the
// code under test without touching the server other tests use.
export function tcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  const links = new Set<{ client: Socket; upstream?: Socket }>();
  let server: Server | undefined;
  let port = 0;
  let frozen = false;
  const link = (l: { client: Socket; upstream?: Socket }) => {
    if (!l.upstream) {
      const upstream = connect(target.port, target.host);
      l.upstream = upstream;
      sockets.add(upstream);
      const end = () => {
        l.client.destroy();
        upstream.destroy();
        sockets.delete(l.client);
        sockets.delete(upstream);
        links.delete(l);
      };
      for (const x of [l.client, upstream]) x.on("error", end).on("close", end);
      upstream.pipe(l.client);
    }
    l.client.pipe(l.upstream);
  };
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        sockets.add(client);
        const l = { client };
        links.add(l);
        client.on("error", () => client.destroy());
        if (frozen) client.pause();
        else link(l);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  return {
    start,
    get port() {
      return port;
    },
    get up() {
      return !!server;
    },
    /** nothing the clients write gets through (already open connections and new ones alike) */
    freeze() {
      frozen = true;
      for (const l of links) {
        l.client.unpipe();
        l.client.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const l of links) link(l);
    },
    async stop() {
      const s = server;
      server = undefined;
      for (const x of sockets) x.destroy();
      sockets.clear();
      links.clear();
      if (s) await new Promise<void>((r) => s.close(() => r()));
    },
  };
}

/** host and port of a postgres:// or redis:// URL */
export function hostPort(url: string, defaultPort: number) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || defaultPort) };
}

/** `url` pointed at the proxy instead */
export function viaProxy(url: string, port: number) {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString().replace(/\/$/, "");
}
