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
//
// Baileys' own transaction storage (the same addTransactionCapability) gets one more rule: its store
// ends when the run that set it ends. Baileys starts work inside a keys transaction that outlives
// it: after each 1:1 send, `relayMessage` fires off its privacy-token issuance (an IQ, then
// `keys.set({tctoken})`) from inside the send's transaction. With Node's AsyncLocalStorage, stock
// or this one, those continuations inherit the transaction's context, so the write goes into the
// mutations of a transaction that committed long before: it never reaches the key store, and
// Baileys issues its token again after every message (docs/decisions/007-key-store-write-failures.md,
// "Privacy tokens"). Once the run is over, getStore() answers undefined for it, so such a late
// write is a plain write and lands. While the run is going nothing changes.
type Slot = { value: unknown; live: boolean };
type Store = Map<object, Slot>;
const Real = asyncHooks.AsyncLocalStorage;
let installed = false;
const endsWithRun = new WeakSet<object>();

/** Whether an AsyncLocalStorage is being created by Baileys' addTransactionCapability. */
function createdByBaileysTransaction(): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 12;
  try {
    return /\baddTransactionCapability\b/.test(new Error().stack ?? "");
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Makes `als` a storage whose store ends with its run (as Baileys' transaction storage is made
 * automatically): continuations that run after the run's promise settled see no store.
 * Only for storages created after installSharedAsyncLocalStorage().
 */
export function endStoreWithRun(als: asyncHooks.AsyncLocalStorage<unknown>): void {
  endsWithRun.add(als);
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof (v as { then?: unknown } | null)?.then === "function";

export function installSharedAsyncLocalStorage(): void {
  if (installed) return;
  installed = true;
  const shared = new Real<Store>();

  class SharedAsyncLocalStorage<T> extends Real<T> {
    constructor() {
      super();
      if (createdByBaileysTransaction()) endsWithRun.add(this);
    }
    override getStore(): T | undefined {
      const slot = shared.getStore()?.get(this);
      return slot?.live ? (slot.value as T) : undefined;
    }
    override run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R {
      const slot: Slot = { value: store, live: true };
      const next: Store = new Map(shared.getStore());
      next.set(this, slot);
      if (!endsWithRun.has(this)) return shared.run(next, fn, ...args);
      let result: R;
      try {
        result = shared.run(next, fn, ...args);
      } catch (err) {
        slot.live = false;
        throw err;
      }
      const end = () => {
        slot.live = false;
      };
      if (isThenable(result)) result.then(end, end);
      else end();
      return result;
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
      next.set(this, { value: store, live: true });
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
