import "./next-als";
import { workAsyncStorage } from "next/dist/server/app-render/work-async-storage.external.js";
import { workUnitAsyncStorage } from "next/dist/server/app-render/work-unit-async-storage.external.js";
import { createRequestStoreForAPI } from "next/dist/server/async-storage/request-store.js";
import { NextRequest } from "next/server";

// Next calls a route handler with a NextRequest inside a request scope, which is what makes
// `headers()`/`cookies()` (next-auth's route reads both) work. This recreates just that much, so
// a handler can be called directly and behave as under `next start`: without it next-auth's
// handler throws "called outside a request scope", which is the harness, not the product.
// Internals of Next 16 (the same stores its app-route module creates); kept in this one file.
// `any`: each route types its own params
type Handler = (req: Request, ctx: { params: Promise<any> }) => Promise<Response> | Response;

export function nextRequest(req: Request): NextRequest {
  return new NextRequest(req);
}

export function callInNextScope(handler: Handler, req: Request, params: unknown, route: string): Promise<Response> {
  const nreq = nextRequest(req);
  const url = new URL(nreq.url);
  const workStore = {
    page: route,
    route,
    forceStatic: false,
    dynamicShouldError: false,
    isStaticGeneration: false,
  } as never;
  const requestStore = createRequestStoreForAPI(
    nreq,
    { pathname: url.pathname, search: url.search },
    undefined as never,
    () => {},
    undefined as never,
    undefined,
  );
  return workAsyncStorage.run(workStore, () =>
    workUnitAsyncStorage.run(requestStore as never, async () => handler(nreq, { params: Promise.resolve(params) })),
  );
}
