import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { readBody, sendJson } from "./http-util";
import type { Sim } from "./sim";

export interface ControlCtx {
  sim: Sim;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  json(status: number, body: unknown): void;
  body<T extends z.ZodType>(schema: T): Promise<z.infer<T> | undefined>; // undefined → 400 already sent
}
export type ControlRoute = [method: string, pattern: string, handler: (c: ControlCtx) => Promise<void> | void];

export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const ps = pattern.split("/");
  const xs = path.replace(/\/+$/, "").split("/");
  if (ps.length !== xs.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(":")) out[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return undefined;
  }
  return out;
}

export async function dispatch(
  sim: Sim,
  routes: ControlRoute[],
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  for (const [method, pattern, handler] of routes) {
    if (method !== req.method) continue;
    const params = matchPath(pattern, url.pathname);
    if (!params) continue;
    const ctx: ControlCtx = {
      sim,
      req,
      res,
      url,
      params,
      json: (status, body) => sendJson(res, status, body),
      async body(schema) {
        const raw = await readBody(req);
        let value: unknown = {};
        try {
          value = raw.length ? JSON.parse(raw.toString("utf8")) : {};
        } catch {
          sendJson(res, 400, { error: { code: "bad_json", message: "body is not JSON" } });
          return undefined;
        }
        const r = schema.safeParse(value);
        if (!r.success) {
          sendJson(res, 400, {
            error: {
              code: "bad_input",
              message: r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "),
            },
          });
          return undefined;
        }
        return r.data;
      },
    };
    await handler(ctx);
    return true;
  }
  return false;
}
