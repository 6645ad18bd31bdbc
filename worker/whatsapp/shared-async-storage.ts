import asyncHooks from "node:async_hooks";
import { syncBuiltinESMExports } from "node:module";

// Baileys (rc14, Utils/auth-utils.js addTransactionCapability) creates an AsyncLocalStorage per
// socket and never disables it. On Node 20 every enabled AsyncLocalStorage is visited on EVERY
// promise the process creates (async_hooks `_propagate`), so the cost of each promise grows with
// the number of sockets ever opened — reconnects included. Profiled under inbound load with 50
// numbers: 12.5 % of the worker's CPU in `_propagate`/`promiseInitHook` (tests/bench/RESULTS.md).
//
// Installed first in the worker: every AsyncLocalStorage created afterwards is a view on ONE real
// storage that holds a small map (instance → store). Same semantics for run/getStore/exit/
// enterWith; the per-promise cost no longer depends on how many instances exist.
type Store = Map<object, unknown>;
const Real = asyncHooks.AsyncLocalStorage;
let installed = false;

export function installSharedAsyncLocalStorage(): void {
  if (installed) return;
  installed = true;
  const shared = new Real<Store>();

  class SharedAsyncLocalStorage<T> extends Real<T> {
    override getStore(): T | undefined {
      return shared.getStore()?.get(this) as T | undefined;
    }
    override run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R {
      const next: Store = new Map(shared.getStore());
      next.set(this, store);
      return shared.run(next, fn, ...args);
    }
    override exit<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
      const current = shared.getStore();
      if (!current?.has(this)) return fn(...args);
      const next: Store = new Map(current);
      next.delete(this);
      return shared.run(next, fn, ...args);
    }
    override enterWith(store: T): void {
      const next: Store = new Map(shared.getStore());
      next.set(this, store);
      shared.enterWith(next);
    }
    override disable(): void {
      const current = shared.getStore();
      if (current?.has(this)) current.delete(this);
    }
  }

  (asyncHooks as { AsyncLocalStorage: unknown }).AsyncLocalStorage = SharedAsyncLocalStorage;
  // named ESM imports of the builtin (`import { AsyncLocalStorage } from "async_hooks"`) see it too
  syncBuiltinESMExports();
}
