import { describe, expect, it } from "vitest";
import {
  announcedBytes,
  announcedTooLarge,
  DEFAULT_MAX_INBOUND_MEDIA_BYTES,
  formatBytes,
  tooLargeNotice,
} from "./inbound-media-size";

const MB = 1024 * 1024;

describe("announcedBytes", () => {
  it("reads the forms a protobuf uint64 takes: number, Long, Long after JSON, string, bigint", () => {
    expect(announcedBytes(1234)).toBe(1234);
    expect(announcedBytes({ low: 200 * MB, high: 0, unsigned: true, toNumber: () => 200 * MB })).toBe(200 * MB);
    expect(announcedBytes({ low: 0, high: 1, unsigned: true })).toBe(2 ** 32);
    // the top bit set (a negative low/high when read as signed) is a larger number, not a smaller one
    expect(announcedBytes({ low: -1, high: -1, unsigned: false })).toBe(2 ** 64 - 1);
    expect(announcedBytes("5000")).toBe(5000);
    expect(announcedBytes(12n)).toBe(12);
  });
  it("is null for what says nothing usable", () => {
    for (const v of [undefined, null, -1, Number.NaN, Infinity, "12 MB", "", {}, { low: "1", high: 0 }, true])
      expect(announcedBytes(v)).toBeNull();
  });
});

describe("announcedTooLarge", () => {
  it("refuses only a size known to be over the limit; unknown sizes are downloaded with the cap", () => {
    expect(DEFAULT_MAX_INBOUND_MEDIA_BYTES).toBe(100 * MB);
    expect(announcedTooLarge(200 * MB, 100 * MB)).toBe(true);
    expect(announcedTooLarge(100 * MB, 100 * MB)).toBe(false);
    expect(announcedTooLarge(100 * MB + 1, 100 * MB)).toBe(true);
    expect(announcedTooLarge(undefined, 100 * MB)).toBe(false);
    expect(announcedTooLarge({ low: 0, high: 0x80000000 }, 100 * MB)).toBe(true);
  });
});

describe("tooLargeNotice", () => {
  it("names the kind, the file, the size and the limit, and keeps the caption", () => {
    expect(
      tooLargeNotice({
        kind: "document",
        fileName: "report.pdf",
        caption: "Q3 figures",
        bytes: 240 * MB,
        limit: 100 * MB,
      }),
    ).toBe('[Document "report.pdf" (240 MB) not imported: larger than the 100 MB limit]\nQ3 figures');
    expect(tooLargeNotice({ kind: "video", bytes: 1.5 * 1024 * MB, limit: 100 * MB })).toBe(
      "[Video (1.5 GB) not imported: larger than the 100 MB limit]",
    );
    expect(tooLargeNotice({ kind: "audio", ptt: true, bytes: null, limit: 2 * MB })).toBe(
      "[Voice message not imported: larger than the 2 MB limit]",
    );
  });
  it("says no size when only 'more than the limit' is known (a sender that announced less)", () => {
    expect(tooLargeNotice({ kind: "image", bytes: 1024, limit: 2 * MB, caption: "  " })).toBe(
      "[Image not imported: larger than the 2 MB limit]",
    );
  });
  it("keeps a hostile file name on one line, without quotes, not endless", () => {
    const n = tooLargeNotice({
      kind: "document",
      fileName: `a"b\n\u2028c${"x".repeat(300)}`,
      bytes: 3 * MB,
      limit: 2 * MB,
    });
    expect(n.split("\n")).toHaveLength(1);
    expect(n).toMatch(/^\[Document "a b cx+\.\.\." \(3 MB\) not imported/);
    expect(n.length).toBeLessThan(200);
  });
});

describe("formatBytes", () => {
  it("rounds like a person would", () => {
    expect(formatBytes(100 * MB)).toBe("100 MB");
    expect(formatBytes(2.5 * MB)).toBe("2.5 MB");
    expect(formatBytes(2 * MB)).toBe("2 MB");
    expect(formatBytes(800 * 1024)).toBe("800 KB");
    expect(formatBytes(12)).toBe("12 bytes");
  });
});
