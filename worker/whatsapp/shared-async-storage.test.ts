import asyncHooks from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { endStoreWithRun, installSharedAsyncLocalStorage } from "./shared-async-storage";

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("installSharedAsyncLocalStorage", () => {
  it("keeps AsyncLocalStorage's semantics with one real storage behind every instance", async () => {
    const Original = asyncHooks.AsyncLocalStorage;
    installSharedAsyncLocalStorage();
    const { AsyncLocalStorage } = await import("node:async_hooks"); // a named ESM import sees it
    expect(AsyncLocalStorage).not.toBe(Original);
    const a = new AsyncLocalStorage<string>();
    const b = new AsyncLocalStorage<number>();
    expect(a.getStore()).toBeUndefined();
    await a.run("outer", async () => {
      expect(a.getStore()).toBe("outer");
      expect(b.getStore()).toBeUndefined();
      await b.run(7, async () => {
        await tick();
        expect([a.getStore(), b.getStore()]).toEqual(["outer", 7]);
        await a.run("inner", async () => {
          await tick();
          expect([a.getStore(), b.getStore()]).toEqual(["inner", 7]);
        });
        expect(a.getStore()).toBe("outer");
        a.exit(() => expect([a.getStore(), b.getStore()]).toEqual([undefined, 7]));
      });
      expect(b.getStore()).toBeUndefined();
      // concurrent contexts do not see each other
      const seen = await Promise.all(
        ["x", "y"].map((v) =>
          b.run(v.length, async () => a.run(v, async () => (await tick(), `${a.getStore()}${b.getStore()}`))),
        ),
      );
      expect(seen).toEqual(["x1", "y1"]);
    });
    expect(a.getStore()).toBeUndefined();
    await Promise.resolve().then(() => {
      a.enterWith("entered");
      expect(a.getStore()).toBe("entered");
    });
  });

  it("a storage whose store ends with its run: continuations left behind see no store (Baileys' transactions)", async () => {
    installSharedAsyncLocalStorage();
    const { AsyncLocalStorage } = await import("node:async_hooks");
    // Baileys' addTransactionCapability creates its storage like this; it is recognised by name
    const addTransactionCapability = () => new AsyncLocalStorage<{ tx: number }>();
    const tx = addTransactionCapability();
    const plain = new AsyncLocalStorage<string>();
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    const seenLate: unknown[] = [];
    const result = await tx.run({ tx: 1 }, async () => {
      await tick();
      expect(tx.getStore()).toEqual({ tx: 1 }); // while the run is going: as before
      // fire and forget, as rc14's post-send privacy-token issuance
      void later.then(() => seenLate.push(tx.getStore()));
      void plain.run("p", () => later.then(() => seenLate.push(plain.getStore())));
      return "done";
    });
    expect(result).toBe("done");
    release();
    await tick();
    expect(seenLate).toEqual([undefined, "p"]); // the transaction is over; an ordinary storage keeps Node's semantics

    // opt-in for any storage, and nested runs of it end each on their own
    const scoped = new AsyncLocalStorage<string>();
    endStoreWithRun(scoped as never);
    const inner: unknown[] = [];
    await scoped.run("outer", async () => {
      await scoped.run("inner", async () => {
        void tick().then(() => inner.push(scoped.getStore()));
      });
      expect(scoped.getStore()).toBe("outer");
      await tick();
      await tick();
    });
    expect(inner).toEqual([undefined]); // left behind by the inner run, which is over
    expect(scoped.run("sync", () => scoped.getStore())).toBe("sync");
  });
});
