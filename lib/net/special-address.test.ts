import { describe, expect, it } from "vitest";
import { isSpecialAddress } from "./special-address";

// Every address here is one a URL, a resolver or the URL parser can hand to the SSRF guard.
describe("isSpecialAddress", () => {
  it("refuses every special-use IPv4 range", () => {
    for (const a of [
      "0.0.0.0",
      "0.1.2.3",
      "10.1.2.3",
      "100.64.0.1",
      "100.127.255.254",
      "127.0.0.1",
      "127.255.255.255",
      "169.254.169.254",
      "172.16.0.1",
      "172.31.255.255",
      "192.0.0.8",
      "192.0.2.10",
      "192.88.99.1",
      "192.168.1.1",
      "198.18.0.1",
      "198.19.255.255",
      "198.51.100.7",
      "203.0.113.9",
      "224.0.0.1",
      "239.255.255.250",
      "240.0.0.1",
      "255.255.255.255",
    ])
      expect(isSpecialAddress(a), a).toBe(true);
  });

  it("refuses IPv6 forms that carry a private IPv4 address, in every notation", () => {
    for (const a of [
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "0:0:0:0:0:ffff:7f00:1",
      "::FFFF:A9FE:A9FE",
      "::ffff:10.0.0.1",
      "::7f00:1",
      "::127.0.0.1",
      "::a00:1",
      "::8.8.8.8", // IPv4-compatible: deprecated, refused whatever it carries
      "::ffff:0:7f00:1", // IPv4-translated
      "64:ff9b::7f00:1",
      "64:ff9b::10.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "64:ff9b:1::808:808", // local-use NAT64
      "2002:7f00:1::1",
      "2002:c0a8:101::",
      "2002:a9fe:a9fe::1", // 6to4 of 127.0.0.1, 192.168.1.1, 169.254.169.254
    ])
      expect(isSpecialAddress(a), a).toBe(true);
  });

  it("refuses special-use IPv6 ranges", () => {
    for (const a of [
      "::",
      "::1",
      "0:0:0:0:0:0:0:1",
      "fe80::1",
      "fe80::1%eth0",
      "febf::1",
      "fec0::1",
      "feff::1",
      "fc00::1",
      "fd12:3456::1",
      "ff02::1",
      "ff05::1:3",
      "2001:db8::1",
      "2001::1",
      "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
      "2001:2::1",
      "2001:10::1",
      "2001:20::1",
      "3fff::1",
      "100::1",
      "5f00::1",
      "4000::1",
      "not an address",
    ])
      expect(isSpecialAddress(a), a).toBe(true);
  });

  it("lets globally reachable unicast through, including public IPv4 behind NAT64 and 6to4", () => {
    for (const a of [
      "8.8.8.8",
      "1.1.1.1",
      "93.184.215.14",
      "100.63.255.255",
      "100.128.0.1",
      "172.15.255.255",
      "172.32.0.1",
      "192.0.3.1",
      "198.20.0.1",
      "2606:4700::1111",
      "2a00:1450:4001:80b::200e",
      "64:ff9b::808:808",
      "::ffff:8.8.8.8",
      "::ffff:808:808",
      "2002:808:808::1",
    ])
      expect(isSpecialAddress(a), a).toBe(false);
  });
});
