import { describe, expect, it } from "vitest";
import { mediaResponseHeaders, safeFileName } from "./serve-policy";

describe("mediaResponseHeaders", () => {
  it("images (not SVG), audio and video are inline with their own type", () => {
    for (const [t, want] of [
      ["image/png", "image/png"],
      ["IMAGE/JPEG", "image/jpeg"],
      ["audio/ogg; codecs=opus", "audio/ogg"],
      ["video/mp4", "video/mp4"],
    ]) {
      const h = mediaResponseHeaders(t, "a.bin");
      expect(h["content-type"]).toBe(want);
      expect(h["content-disposition"]).toMatch(/^inline; /);
    }
  });

  it("SVG, HTML, XML, scripts and junk types are attachments labelled octet-stream", () => {
    for (const t of [
      "image/svg+xml",
      "text/html",
      "text/html; charset=utf-8",
      "application/xhtml+xml",
      "text/xml",
      "application/javascript",
      "text/css",
      "multipart/related",
      "text/html\r\nx-injected: 1",
      "",
      "nonsense",
      "*/*",
    ]) {
      const h = mediaResponseHeaders(t, "x");
      expect(h["content-type"], t).toBe("application/octet-stream");
      expect(h["content-disposition"], t).toMatch(/^attachment; /);
    }
  });

  it("documents (PDF, Office, plain text, zip) keep their type but are attachments", () => {
    for (const t of [
      "application/pdf",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "text/plain",
      "application/zip",
    ]) {
      const h = mediaResponseHeaders(t, "doc");
      expect(h["content-type"]).toBe(t);
      expect(h["content-disposition"]).toMatch(/^attachment; /);
    }
  });

  it("always sandboxed and nosniff", () => {
    for (const t of ["image/png", "text/html", "application/pdf"]) {
      expect(mediaResponseHeaders(t, "f")).toMatchObject({
        "content-security-policy": "sandbox",
        "x-content-type-options": "nosniff",
      });
    }
  });

  it("the file name cannot break out of the header or name a path", () => {
    const h = mediaResponseHeaders("text/html", '../../evil"; filename=x.html\r\nSet-Cookie: a=b.html');
    expect(h["content-disposition"]).not.toMatch(/[\r\n]/);
    expect(h["content-disposition"]).toMatch(/^attachment; filename="[^"]*"; filename\*=UTF-8''[^\s";]+$/);
    expect(mediaResponseHeaders("application/pdf", "relatório ñ.pdf")["content-disposition"]).toBe(
      `attachment; filename="relat_rio _.pdf"; filename*=UTF-8''${encodeURIComponent("relatório ñ.pdf")}`,
    );
  });
});

describe("safeFileName", () => {
  it("keeps the last path segment, drops control characters and leading dots, never empty", () => {
    expect(safeFileName("C:\\Users\\x\\..\\.bashrc")).toBe("bashrc");
    expect(safeFileName("a\u0000b\nc.txt")).toBe("a_b_c.txt");
    expect(safeFileName("")).toBe("file");
    expect(safeFileName("...")).toBe("file");
    expect(safeFileName("x".repeat(500))).toHaveLength(150);
  });
});
