import { domainToASCII } from "node:url";
import { ConfigError } from "@sprintconnect/core";
import ipaddr from "ipaddr.js";
import { type AddressRange, type ClassifiedAddress, parseIpLiteral } from "./ip-address";

/** One ALLOWED_EGRESS_HOSTS entry, parsed. */
export type EgressPolicyEntry =
  /** `*`: any host name, and any public address. */
  | { kind: "any" }
  /** `api.example.com`: that host name (lower case, no trailing dot). */
  | { kind: "host"; host: string }
  /** `*.example.com`: every name below `example.com`, at any depth, but not `example.com`. */
  | { kind: "suffix"; suffix: string }
  /** `10.0.0.0/8`, `127.0.0.1`, `::1`: those addresses (a bare address is a /32 or /128). */
  | { kind: "cidr"; network: ipaddr.IPv4 | ipaddr.IPv6; prefix: number };

/**
 * Whether an address may be reached, and on what grounds: `entry` when an IP or CIDR entry
 * contains it, `public` for a public address no entry names; otherwise its refused range.
 */
export type AddressVerdict = { allowed: true; by: "entry" | "public" } | { allowed: false; range: AddressRange };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
// A last label like this makes WHATWG URL parse the whole host as an IPv4 address.
const NUMERIC_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/i;

/**
 * The hosts outbound connections may reach, from ALLOWED_EGRESS_HOSTS. Host names and `*`
 * admit names; IP and CIDR entries admit addresses. A non-public address (private, loopback,
 * link-local, metadata…) is reachable only through an IP or CIDR entry that contains it, never
 * through a name or `*`; a cloud metadata address only through an entry naming exactly it.
 */
export class EgressPolicy {
  private constructor(readonly entries: readonly EgressPolicyEntry[]) {}

  /**
   * Parses the ALLOWED_EGRESS_HOSTS list. Throws a `ConfigError` naming every invalid entry.
   * An empty list admits nothing.
   */
  static parse(list: readonly string[]): EgressPolicy {
    const entries: EgressPolicyEntry[] = [];
    const issues: string[] = [];
    for (const raw of list) {
      const parsed = parseEntry(raw.trim());
      if (typeof parsed === "string") issues.push(`ALLOWED_EGRESS_HOSTS: ${JSON.stringify(raw)} ${parsed}`);
      else entries.push(parsed);
    }
    if (issues.length > 0) throw new ConfigError(issues);
    return new EgressPolicy(entries);
  }

  /** Whether `*` is in the list, admitting any public host. */
  get allowsAnyPublicHost(): boolean {
    return this.entries.some((e) => e.kind === "any");
  }

  /**
   * Whether a host name is admitted by a name entry, a wildcard or `*`. The addresses it
   * resolves to must still pass `verdictFor`. Expects WHATWG URL's `hostname` (lower case,
   * punycode); a trailing dot is ignored.
   */
  allowsHostName(hostname: string): boolean {
    const host = stripTrailingDot(hostname.toLowerCase());
    return this.entries.some(
      (e) =>
        e.kind === "any" ||
        (e.kind === "host" && e.host === host) ||
        (e.kind === "suffix" && host.endsWith(`.${e.suffix}`)),
    );
  }

  /** Whether a connection may go to this address (name entries are not consulted). */
  verdictFor(address: ClassifiedAddress): AddressVerdict {
    const exactOnly = address.range === "metadata";
    const candidates = address.embeddedIPv4 ? [address.ip, address.embeddedIPv4] : [address.ip];
    const named = this.entries.some(
      (e) =>
        e.kind === "cidr" &&
        candidates.some(
          (ip) =>
            ip.kind() === e.network.kind() &&
            ip.match(e.network, e.prefix) &&
            (!exactOnly || e.prefix === (ip.kind() === "ipv4" ? 32 : 128)),
        ),
    );
    if (named) return { allowed: true, by: "entry" };
    if (address.range === "public") return { allowed: true, by: "public" };
    return { allowed: false, range: address.range };
  }
}

/** Parses the ALLOWED_EGRESS_HOSTS list; see `EgressPolicy.parse`. */
export function parseEgressPolicy(list: readonly string[]): EgressPolicy {
  return EgressPolicy.parse(list);
}

/** An entry, or why it is not one. */
function parseEntry(entry: string): EgressPolicyEntry | string {
  if (entry === "") return "is empty";
  if (entry === "*") return { kind: "any" };
  if (entry.includes("/")) return parseCidr(entry);
  const ip = parseIpLiteral(entry);
  if (ip) return cidrEntry(ip, ip.kind() === "ipv4" ? 32 : 128);
  if (entry.startsWith("*.")) {
    const suffix = parseHostName(entry.slice(2));
    return typeof suffix === "string" ? { kind: "suffix", suffix } : `is not a valid wildcard: ${suffix.problem}`;
  }
  if (entry.includes("*")) return "is not a valid wildcard: only a leading `*.` is supported";
  const host = parseHostName(entry);
  return typeof host === "string" ? { kind: "host", host } : host.problem;
}

function parseCidr(entry: string): EgressPolicyEntry | string {
  const slash = entry.indexOf("/");
  const ip = parseIpLiteral(entry.slice(0, slash));
  const prefixText = entry.slice(slash + 1);
  const max = ip?.kind() === "ipv4" ? 32 : 128;
  if (!ip || !/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return "is not a valid CIDR (address in standard form, then /prefix)";
  }
  return cidrEntry(ip, Number(prefixText));
}

function cidrEntry(ip: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): EgressPolicyEntry {
  // Addresses are matched with IPv4-mapped IPv6 turned into IPv4, so entries are too.
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    return { kind: "cidr", network: (ip as ipaddr.IPv6).toIPv4Address(), prefix: prefix - 96 };
  }
  return { kind: "cidr", network: ip, prefix };
}

function parseHostName(text: string): string | { problem: string } {
  if (text.includes(":")) return { problem: "is not a host name (ports are not part of an entry)" };
  const ascii = domainToASCII(stripTrailingDot(text));
  const labels = ascii.split(".");
  const last = labels[labels.length - 1] ?? "";
  // domainToASCII turns "127.1" or "0x7f.1" into an IPv4 address; so would URLs.
  if (NUMERIC_LABEL.test(last) || parseIpLiteral(ascii)) {
    return { problem: "is not a valid IP address; write IPv4 addresses as four decimal numbers (a.b.c.d)" };
  }
  if (ascii === "" || ascii.length > 253 || !labels.every((l) => LABEL.test(l))) {
    return { problem: "is not a valid host name, *.suffix wildcard, IP address or CIDR" };
  }
  return ascii;
}

function stripTrailingDot(host: string): string {
  return host.endsWith(".") ? host.slice(0, -1) : host;
}
