import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { EventHub, sseResponse } from "./hub";

// A stand-in for the subscriber connection: records (un)subscriptions, emits messages.
function fakeSub() {
  const e = new EventEmitter() as EventEmitter & {
    status: string;
    subs: string[];
    subscribe(c: string): Promise<void>;
    unsubscribe(c: string): Promise<void>;
  };
  e.status = "ready"; // a connected ioredis client (the hub subscribes only on a ready connection)
  e.subs = [];
  e.subscribe = async (c) => void e.subs.push(c);
  e.unsubscribe = async (c) => void (e.subs = e.subs.filter((x) => x !== c));
  return e;
}

describe("EventHub", () => {
  it("subscribes a channel once for many listeners and only while someone listens", async () => {
    const sub = fakeSub();
    const hub = new EventHub(sub as never);
    const got: string[] = [];
    const a = await hub.listen("gw:events:A", (m) => got.push(`a:${m}`));
    const b = await hub.listen("gw:events:A", (m) => got.push(`b:${m}`));
    expect(sub.subs).toEqual(["gw:events:A"]);
    sub.emit("message", "gw:events:A", "1");
    sub.emit("message", "gw:events:B", "other tenant");
    expect(got).toEqual(["a:1", "b:1"]);
    await a();
    await b();
    expect(sub.subs).toEqual([]);
  });

  it("streams a channel as server-sent events, filtered", async () => {
    const sub = fakeSub();
    const hub = new EventHub(sub as never);
    const ac = new AbortController();
    const res = sseResponse(hub, "gw:events:A", (m) => !m.includes("skip"), ac.signal);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe("retry: 3000\n\n");
    await new Promise((r) => setTimeout(r, 10));
    sub.emit("message", "gw:events:A", "skip me");
    sub.emit("message", "gw:events:A", '{"type":"instance.status"}');
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {"type":"instance.status"}\n\n');
    ac.abort();
    await new Promise((r) => setTimeout(r, 10));
    expect(hub.listenerCount("gw:events:A")).toBe(0);
  });

  it("with a guard: asks before relaying a QR, keeps order, and ends the stream when the check fails or throws", async () => {
    for (const answer of [false, "throws"] as const) {
      const sub = fakeSub();
      const hub = new EventHub(sub as never);
      let valid = true;
      const asked: string[] = [];
      const res = sseResponse(hub, "gw:events:A", undefined, undefined, {
        everyMs: 60_000,
        stillValid: async () => {
          asked.push("check");
          if (valid) return true;
          if (answer === "throws") throw new Error("db down");
          return false;
        },
      });
      const reader = res.body!.getReader();
      const read = async () => new TextDecoder().decode((await reader.read()).value);
      expect(await read()).toBe("retry: 3000\n\n");
      await new Promise((r) => setTimeout(r, 10));
      sub.emit("message", "gw:events:A", '{"type":"instance.qr","qr":"q1"}');
      sub.emit("message", "gw:events:A", '{"type":"instance.status","n":1}');
      expect(await read()).toBe('data: {"type":"instance.qr","qr":"q1"}\n\n');
      expect(await read()).toBe('data: {"type":"instance.status","n":1}\n\n');
      expect(asked).toEqual(["check"]); // a status is not a QR: no check
      valid = false;
      sub.emit("message", "gw:events:A", '{"type":"instance.pairing-code","code":"ABCD"}');
      expect(await read()).toBe('event: end\ndata: {"reason":"credential_invalid"}\n\n');
      expect((await reader.read()).done).toBe(true);
      expect(hub.listenerCount("gw:events:A")).toBe(0);
    }
  });

  it("sends the snapshot first, once subscribed; what is published meanwhile follows it, in order", async () => {
    const sub = fakeSub();
    const hub = new EventHub(sub as never);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    let subscribedWhenRead = false;
    const res = sseResponse(
      hub,
      "gw:events:A",
      (m) => !m.includes("other"),
      undefined,
      undefined,
      async () => {
        subscribedWhenRead = sub.subs.includes("gw:events:A");
        await slow;
        return [
          '{"type":"instance.qr","instanceId":"other","qr":"q0"}',
          '{"type":"instance.qr","instanceId":"i1","qr":"q1"}',
        ];
      },
    );
    const reader = res.body!.getReader();
    const read = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await read()).toBe("retry: 3000\n\n");
    await new Promise((r) => setTimeout(r, 10));
    expect(subscribedWhenRead).toBe(true);
    sub.emit("message", "gw:events:A", '{"type":"instance.qr","instanceId":"i1","qr":"q2"}');
    release();
    // the snapshot's QR (filtered like a live one), then the newer one published while it was read
    expect(await read()).toBe('data: {"type":"instance.qr","instanceId":"i1","qr":"q1"}\n\n');
    expect(await read()).toBe('data: {"type":"instance.qr","instanceId":"i1","qr":"q2"}\n\n');
    await reader.cancel();
  });

  it("the snapshot passes the same checks as live codes: withheld from a caller who may not link a phone", async () => {
    const sub = fakeSub();
    const hub = new EventHub(sub as never);
    const res = sseResponse(
      hub,
      "gw:events:A",
      undefined,
      undefined,
      { stillValid: async () => true, mayLinkAPhone: async () => false },
      async () => [
        '{"type":"instance.qr","instanceId":"i1","qr":"2@secret","expiresAt":"2030-01-01T00:00:00.000Z"}',
        '{"type":"instance.pairing-code","instanceId":"i1","code":"ABCD1234"}',
      ],
    );
    const reader = res.body!.getReader();
    const read = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await read()).toBe("retry: 3000\n\n");
    const qr = await read();
    const code = await read();
    expect(qr).toBe(
      'data: {"type":"instance.qr","instanceId":"i1","expiresAt":"2030-01-01T00:00:00.000Z","withheld":"admin_required"}\n\n',
    );
    expect(code).toBe('data: {"type":"instance.pairing-code","instanceId":"i1","withheld":"admin_required"}\n\n');
    await reader.cancel();
  });

  it("a snapshot that cannot be read does not hold up the live messages", async () => {
    const sub = fakeSub();
    const hub = new EventHub(sub as never);
    const res = sseResponse(hub, "gw:events:A", undefined, undefined, undefined, async () => {
      throw new Error("redis down");
    });
    const reader = res.body!.getReader();
    const read = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await read()).toBe("retry: 3000\n\n");
    await new Promise((r) => setTimeout(r, 10));
    sub.emit("message", "gw:events:A", '{"type":"instance.status","n":1}');
    expect(await read()).toBe('data: {"type":"instance.status","n":1}\n\n');
    await reader.cancel();
  });
});
