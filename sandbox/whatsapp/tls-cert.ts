// A self-signed X.509 certificate for the media host. Baileys always uploads to
// `https://<media_conn host>/…`, so the simulator must speak TLS there; Node can sign but not
// build certificates, hence this minimal DER writer (ECDSA P-256, SAN 127.0.0.1 and localhost).
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";

export interface TlsCert {
  certPem: string;
  keyPem: string;
}

export function createSelfSignedCert(commonName = "WhatsApp simulator media"): TlsCert {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
  const now = Date.now();
  const validity = seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 10 * 365 * 86_400_000)));
  const san = seq(
    tagged(0x87, Buffer.from([127, 0, 0, 1])), // iPAddress
    tagged(0x82, Buffer.from("localhost")), // dNSName
  );
  const extensions = tagged(0xa3, seq(seq(oid("2.5.29.17"), octet(san))));
  const serial = randomBytes(8);
  // a positive INTEGER in minimal DER: high bit clear, and no leading zero byte (OpenSSL refuses
  // that as "illegal padding": about one simulator start in 256 failed with it)
  serial[0] = (serial[0] % 0x7f) + 1;
  const tbs = seq(
    tagged(0xa0, int(Buffer.from([2]))),
    int(serial),
    ecdsaWithSha256,
    name,
    validity,
    name,
    spki,
    extensions,
  );
  const signature = sign("sha256", tbs, privateKey);
  const cert = seq(tbs, ecdsaWithSha256, bitString(signature));
  return {
    certPem: pem("CERTIFICATE", cert),
    keyPem: createPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }))
      .export({ type: "pkcs8", format: "pem" })
      .toString(),
  };
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

function tagged(tag: number, content: Buffer): Buffer {
  const len = content.length;
  const header =
    len < 0x80
      ? Buffer.from([tag, len])
      : len < 0x100
        ? Buffer.from([tag, 0x81, len])
        : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([header, content]);
}

const seq = (...items: Buffer[]) => tagged(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tagged(0x31, Buffer.concat(items));
const int = (v: Buffer) => tagged(0x02, v);
const octet = (v: Buffer) => tagged(0x04, v);
const utf8 = (s: string) => tagged(0x0c, Buffer.from(s, "utf8"));
const bitString = (v: Buffer) => tagged(0x03, Buffer.concat([Buffer.from([0]), v]));

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tagged(0x17, Buffer.from(s));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const bytes = [parts[0] * 40 + parts[1]];
  for (const n of parts.slice(2)) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tagged(0x06, Buffer.from(bytes));
}
