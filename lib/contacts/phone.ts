import { badRequest } from "../errors";

// E.164 normalisation without a hard-coded country: numbers written in national form get the
// location's default country code. Deliberately small (no full numbering-plan database): it
// strips formatting and trunk prefixes and checks E.164's length bounds; WhatsApp itself
// (onWhatsApp) is the final judge of whether a number exists.

/** ISO 3166 alpha-2 → country calling code, for the default-country setting. */
export const CALLING_CODES: Record<string, string> = {
  US: "1",
  CA: "1",
  PR: "1",
  DO: "1",
  JM: "1",
  MX: "52",
  BR: "55",
  AR: "54",
  CL: "56",
  CO: "57",
  PE: "51",
  VE: "58",
  EC: "593",
  UY: "598",
  PY: "595",
  BO: "591",
  CR: "506",
  PA: "507",
  GT: "502",
  SV: "503",
  HN: "504",
  NI: "505",
  GB: "44",
  IE: "353",
  ES: "34",
  PT: "351",
  FR: "33",
  DE: "49",
  IT: "39",
  NL: "31",
  BE: "32",
  CH: "41",
  AT: "43",
  SE: "46",
  NO: "47",
  DK: "45",
  FI: "358",
  PL: "48",
  RO: "40",
  GR: "30",
  TR: "90",
  RU: "7",
  UA: "380",
  IL: "972",
  AE: "971",
  SA: "966",
  EG: "20",
  MA: "212",
  NG: "234",
  KE: "254",
  ZA: "27",
  GH: "233",
  IN: "91",
  PK: "92",
  BD: "880",
  ID: "62",
  MY: "60",
  SG: "65",
  PH: "63",
  TH: "66",
  VN: "84",
  CN: "86",
  HK: "852",
  JP: "81",
  KR: "82",
  AU: "61",
  NZ: "64",
};

// countries whose national numbers start with a trunk "0" that is dropped internationally
const TRUNK_ZERO = new Set([
  "GB",
  "IE",
  "DE",
  "FR",
  "NL",
  "BE",
  "CH",
  "AT",
  "SE",
  "FI",
  "TR",
  "IL",
  "AE",
  "SA",
  "EG",
  "MA",
  "NG",
  "KE",
  "ZA",
  "GH",
  "IN",
  "PK",
  "BD",
  "ID",
  "MY",
  "PH",
  "TH",
  "VN",
  "CN",
  "JP",
  "KR",
  "AU",
  "NZ",
  "AR",
  "PE",
  "VE",
  "EC",
  "UY",
  "PY",
  "BO",
  "UA",
  "RU",
]);

export type PhoneResult = { e164: string; digits: string };

export function normalizePhone(input: string, defaultCountry?: string | null): PhoneResult {
  const raw = String(input ?? "").trim();
  if (!raw) throw badRequest("phone number is empty");
  // WhatsApp JIDs are accepted as phone numbers: 15551234567@s.whatsapp.net, 15551234567:3@…
  const jid = raw.match(/^(\d+)(?::\d+)?@s\.whatsapp\.net$/);
  if (jid) return finish(jid[1], raw);
  if (/[a-z]/i.test(raw.replace(/^tel:/i, "").replace(/\s*(ext\.?|x)\s*\d+$/i, "")))
    throw badRequest(`"${raw}" is not a phone number`);
  const cleaned = raw.replace(/^tel:/i, "").replace(/\s*(ext\.?|x)\s*\d+$/i, "");
  const hasPlus = cleaned.startsWith("+");
  let digits = cleaned.replace(/\D/g, "");
  if (hasPlus) return finish(digits, raw);
  if (digits.startsWith("00")) return finish(digits.slice(2), raw);
  const country = (defaultCountry ?? "").toUpperCase();
  const cc = CALLING_CODES[country];
  if (!cc) {
    throw badRequest(
      `"${raw}" has no country code and the location has no default country: write it as +<country code><number>`,
    );
  }
  if (TRUNK_ZERO.has(country) && digits.startsWith("0")) digits = digits.slice(1);
  // a national number already carrying the country code (e.g. US "1 555…", 11 digits)
  if (cc === "1" && digits.length === 11 && digits.startsWith("1")) return finish(digits, raw);
  return finish(cc + digits, raw);
}

export function phoneToJid(e164: string): string {
  return `${e164.replace(/^\+/, "")}@s.whatsapp.net`;
}

function finish(digits: string, raw: string): PhoneResult {
  if (!/^[1-9]\d{6,14}$/.test(digits)) throw badRequest(`"${raw}" is not a valid international phone number`);
  return { e164: `+${digits}`, digits };
}
