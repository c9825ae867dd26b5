import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * What kind of network an address belongs to. Only `public` may be reached without an entry
 * of the egress policy naming the address; every other range is refused by default.
 */
export type AddressRange =
  | "public"
  /** RFC 1918 (10/8, 172.16/12, 192.168/16) and carrier-grade NAT (100.64/10). */
  | "private"
  | "loopback"
  | "link_local"
  /** IPv6 fc00::/7. */
  | "unique_local"
  /** Cloud instance metadata services (AWS, GCP, Azure, Alibaba). */
  | "metadata"
  | "unspecified"
  | "multicast"
  | "broadcast"
  /** Documentation, benchmarking, future-use and other special-purpose ranges. */
  | "reserved";

/** An address as a connection would reach it. */
export interface ClassifiedAddress {
  /**
   * The address to connect to, canonical: dotted decimal for IPv4 and for IPv4-mapped IPv6
   * (`::ffff:127.0.0.1` is `127.0.0.1`), RFC 5952 text for other IPv6.
   */
  address: string;
  family: 4 | 6;
  range: AddressRange;
  /** The address itself, parsed; IPv4 for IPv4-mapped IPv6. */
  ip: ipaddr.IPv4 | ipaddr.IPv6;
  /** The IPv4 address a translation prefix (NAT64, SIIT, 6to4) forwards to, if any. */
  embeddedIPv4?: ipaddr.IPv4;
}

// Cloud metadata endpoints. They sit inside link-local, CGNAT or unique-local ranges, but are
// classified on their own so that a policy entry for the surrounding range does not admit them.
const METADATA_ADDRESSES = ["169.254.169.254", "100.100.100.200", "fd00:ec2::254"].map((a) => ipaddr.parse(a));

const IPV4_RANGES: Readonly<Record<string, AddressRange>> = {
  unicast: "public",
  // AS112 sinks and AMT relays are ordinary anycast services on the public internet.
  as112: "public",
  amt: "public",
  private: "private",
  carrierGradeNat: "private",
  loopback: "loopback",
  linkLocal: "link_local",
  unspecified: "unspecified",
  multicast: "multicast",
  broadcast: "broadcast",
};

const IPV6_RANGES: Readonly<Record<string, AddressRange>> = {
  unicast: "public",
  as112v6: "public",
  amt: "public",
  loopback: "loopback",
  linkLocal: "link_local",
  uniqueLocal: "unique_local",
  unspecified: "unspecified",
  multicast: "multicast",
};

// Only global unicast (2000::/3) is public; ipaddr.js calls anything it does not list
// "unicast", including the deprecated IPv4-compatible ::a.b.c.d block.
const GLOBAL_UNICAST = ipaddr.parseCIDR("2000::/3") as [ipaddr.IPv6, number];
// NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 destination.
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96") as [ipaddr.IPv6, number];

/**
 * Parses an IP address written the standard way: dotted-decimal IPv4 (four parts, no octal or
 * hex) or IPv6, optionally in brackets. Returns undefined for anything else, so that a host
 * name is never mistaken for an address and no odd IPv4 form slips through as a name.
 */
export function parseIpLiteral(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const version = isIP(bare);
  if (version === 4 && ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (version === 6) return ipaddr.IPv6.parse(bare);
  return undefined;
}

/** Classifies an address by where a connection to it would go. */
export function classifyAddress(ip: ipaddr.IPv4 | ipaddr.IPv6): ClassifiedAddress {
  if (ip.kind() === "ipv4") return classifyIPv4(ip as ipaddr.IPv4);
  const v6 = ip as ipaddr.IPv6;
  // An IPv4-mapped address is the IPv4 address: a dual-stack socket connects to it over IPv4.
  if (v6.isIPv4MappedAddress()) return classifyIPv4(v6.toIPv4Address());

  const address = v6.toRFC5952String();
  const embeddedIPv4 = translatedIPv4(v6);
  if (embeddedIPv4) {
    // A translator forwards the connection to the embedded IPv4 address: judge that one.
    return { address, family: 6, range: classifyIPv4(embeddedIPv4).range, ip: v6, embeddedIPv4 };
  }
  return { address, family: 6, range: ipv6Range(v6), ip: v6 };
}

function classifyIPv4(ip: ipaddr.IPv4): ClassifiedAddress {
  const range = isMetadata(ip) ? "metadata" : (IPV4_RANGES[ip.range()] ?? "reserved");
  return { address: ip.toString(), family: 4, range, ip };
}

function ipv6Range(ip: ipaddr.IPv6): AddressRange {
  if (isMetadata(ip)) return "metadata";
  const range = IPV6_RANGES[ip.range()] ?? "reserved";
  if (range === "public" && !ip.match(GLOBAL_UNICAST)) return "reserved";
  return range;
}

/** The IPv4 address carried by a NAT64, SIIT (RFC 6145) or 6to4 address. */
function translatedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = ip.parts;
  const fromWords = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  switch (ip.range()) {
    case "rfc6145":
      return fromWords(p[6] ?? 0, p[7] ?? 0);
    case "rfc6052":
      // 64:ff9b:1::/48 (local-use NAT64, RFC 8215) has no fixed layout: it stays "reserved".
      return ip.match(NAT64_WELL_KNOWN) ? fromWords(p[6] ?? 0, p[7] ?? 0) : undefined;
    case "6to4":
      return fromWords(p[1] ?? 0, p[2] ?? 0);
    default:
      return undefined;
  }
}

function isMetadata(ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return METADATA_ADDRESSES.some((m) => m.kind() === ip.kind() && m.toNormalizedString() === ip.toNormalizedString());
}

/** Words for messages: "a link-local address". */
export const RANGE_LABELS: Readonly<Record<AddressRange, string>> = {
  public: "public",
  private: "private",
  loopback: "loopback",
  link_local: "link-local",
  unique_local: "unique-local",
  metadata: "cloud metadata",
  unspecified: "unspecified",
  multicast: "multicast",
  broadcast: "broadcast",
  reserved: "reserved",
};
