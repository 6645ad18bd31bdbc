import { createServer, type Server } from "node:http";

// A small port for the orchestrator: /health (process up), /ready (dependencies), /metrics later.
export type Probe = () => Promise<{ ok: boolean; [k: string]: unknown }>;

export function startWorkerHttp(
  port: number,
  probes: { ready: Probe; metrics?: (auth: string | undefined) => Promise<{ status: number; body: string }> },
): Promise<Server> {
  const server = createServer(async (req, res) => {
    try {
      if (req.url === "/health") return send(res, 200, { ok: true });
      if (req.url === "/ready") {
        const r = await probes.ready();
        return send(res, r.ok ? 200 : 503, r);
      }
      if (req.url === "/metrics" && probes.metrics) {
        const m = await probes.metrics(req.headers.authorization);
        res.writeHead(m.status, { "content-type": "text/plain; version=0.0.4" });
        return res.end(m.body);
      }
      send(res, 404, { error: { code: "not_found", message: "not found" } });
    } catch {
      send(res, 500, { error: { code: "internal", message: "probe failed" } });
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "0.0.0.0", () => resolve(server));
  });
}

function send(res: import("node:http").ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
