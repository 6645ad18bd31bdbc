import { AsyncLocalStorage } from "node:async_hooks";

// Next's server runtime puts AsyncLocalStorage on globalThis before loading its request stores
// (without it they are inert stand-ins). Imported first by tests that call handlers in a Next
// request scope (next-request-scope.ts), so the stores are real ones.
(globalThis as { AsyncLocalStorage?: typeof AsyncLocalStorage }).AsyncLocalStorage ??= AsyncLocalStorage;
