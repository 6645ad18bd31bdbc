import { BlockList, isIP } from "node:net";

// Which addresses a URL given to us (a media URL, an outgoing webhook) may reach: only globally
// reachable unicast. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are
// judged by that IPv4 address, whatever notation the URL parser or the resolver produced
// (`::ffff:7f00:1` is 127.0.0.1). See SECURITY.md, "Outgoing requests (SSRF)".

const v4 = new BlockList();
for (const [net, len] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay anycast (deprecated)
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, includes 255.255.255.255
] as const)
  v4.addSubnet(net, len, "ipv4");

// Inside 2000::/3 (the only global unicast space); everything outside it is refused outright.
const v6 = new BlockList();
for (const [net, len] of [
  ["2001::", 23], // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
  ["2001:db8::", 32], // documentation
  ["3fff::", 20], // documentation (RFC 9637)
] as const)
  v6.addSubnet(net, len, "ipv6");

/** True unless `addr` (an IPv4 or IPv6 literal) is a globally reachable unicast address. */
export function isSpecialAddress(addr: string): boolean {
  const kind = isIP(addr);
  if (kind === 4) return v4.check(addr, "ipv4");
  if (kind !== 6) return true; // not an address at all: never "public"
  const g = ipv6Groups(addr);
  if (!g) return true;
  const embedded = embeddedIPv4(g);
  if (embedded !== undefined) return embedded === null || v4.check(embedded, "ipv4");
  if ((g[0] & 0xe000) !== 0x2000) return true; // ::/8 … fe00::/9: loopback, ULA, link/site-local, multicast, …
  return v6.check(groupsToString(g), "ipv6");
}

/**
 * The IPv4 address an IPv6 address stands for: a string, null when the form is one to refuse
 * whatever it carries, undefined when it carries none.
 */
function embeddedIPv4(g: number[]): string | null | undefined {
  const v4At = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4At(g[6], g[7]); // ::ffff:0:0/96 IPv4-mapped
  if (zero(0, 6)) return null; // ::/96 IPv4-compatible (deprecated), with :: and ::1
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return null; // ::ffff:0:0:0/96 IPv4-translated
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4At(g[6], g[7]); // 64:ff9b::/96 NAT64
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return null; // 64:ff9b:1::/48 local-use NAT64
  if (g[0] === 0x2002) return v4At(g[1], g[2]); // 2002::/16 6to4
  return undefined;
}

/** The eight 16-bit groups of an IPv6 literal (zone id dropped, trailing dotted quad read). */
function ipv6Groups(addr: string): number[] | null {
  let s = addr.toLowerCase().replace(/^\[|\]$/g, "");
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const quad = s.match(/^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (quad) {
    const b = quad.slice(2).map(Number);
    if (b.some((x) => x > 255)) return null;
    s = `${quad[1]}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const part = (h: string) => (h ? h.split(":").map((x) => parseInt(x, 16)) : []);
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const g = [...head, ...Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return g.length === 8 && g.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) ? g : null;
}

function groupsToString(g: number[]): string {
  return g.map((x) => x.toString(16)).join(":");
}
