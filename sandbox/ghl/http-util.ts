import type { IncomingMessage, ServerResponse } from "node:http";

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location });
  res.end();
}

export function parseForm(raw: Buffer): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw.toString("utf8"))) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export interface ParsedBody {
  kind: "json" | "form" | "multipart" | "none" | "invalid";
  value: unknown;
  files: UploadedFile[];
}
export interface UploadedFile {
  field: string;
  name: string;
  type: string;
  data: Buffer;
}

// JSON, urlencoded and multipart, whichever the client sent: GHL's NestJS accepts all three everywhere.
export async function parseBody(contentType: string | undefined, raw: Buffer): Promise<ParsedBody> {
  const ct = (contentType ?? "").toLowerCase();
  if (raw.length === 0) return { kind: "none", value: undefined, files: [] };
  if (ct.includes("application/json")) {
    try {
      return { kind: "json", value: JSON.parse(raw.toString("utf8")), files: [] };
    } catch {
      return { kind: "invalid", value: undefined, files: [] };
    }
  }
  if (ct.includes("application/x-www-form-urlencoded")) return { kind: "form", value: parseForm(raw), files: [] };
  if (ct.includes("multipart/form-data")) {
    // undici's Response already parses multipart; no dependency needed.
    const form = await new Response(new Uint8Array(raw), { headers: { "content-type": contentType ?? "" } }).formData();
    const fields: Record<string, string | string[]> = {};
    const files: UploadedFile[] = [];
    for (const [k, v] of form.entries()) {
      if (typeof v === "string") {
        const prev = fields[k];
        fields[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      } else {
        files.push({
          field: k,
          name: v.name,
          type: v.type || "application/octet-stream",
          data: Buffer.from(await v.arrayBuffer()),
        });
      }
    }
    return { kind: "multipart", value: fields, files };
  }
  return { kind: "invalid", value: undefined, files: [] };
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}
