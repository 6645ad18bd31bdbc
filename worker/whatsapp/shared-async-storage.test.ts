import asyncHooks from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { installSharedAsyncLocalStorage } from "./shared-async-storage";

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
      const seen = await Promise.all(["x", "y"].map((v) => b.run(v.length, async () => a.run(v, async () => (await tick(), `${a.getStore()}${b.getStore()}`)))));
      expect(seen).toEqual(["x1", "y1"]);
    });
    expect(a.getStore()).toBeUndefined();
    await Promise.resolve().then(() => {
      a.enterWith("entered");
      expect(a.getStore()).toBe("entered");
    });
  });
});
