import { ConfigError } from "@sprintconnect/core";
import { parseEgressPolicy } from "./egress-policy";
import { classifyAddress, parseIpLiteral } from "./ip-address";

const address = (text: string) => classifyAddress(parseIpLiteral(text)!);

describe("egress policy", () => {
  it("reports every invalid entry at once", () => {
    let error: unknown;
    try {
      parseEgressPolicy(["api.example.com", "bad host", "10.0.0.0/33", "api.*.com", "0177.0.0.1", "example.com:443"]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues).toHaveLength(5);
    expect(issues.join("\n")).toEqual(
      expect.stringMatching(
        /"bad host"[\s\S]*"10\.0\.0\.0\/33"[\s\S]*"api\.\*\.com"[\s\S]*"0177\.0\.0\.1"[\s\S]*"example\.com:443"/,
      ),
    );
  });

  it("matches host names exactly, ignoring case and a trailing dot", () => {
    const policy = parseEgressPolicy(["API.Example.com."]);
    expect(policy.allowsHostName("api.example.com")).toBe(true);
    expect(policy.allowsHostName("api.example.com.")).toBe(true);
    expect(policy.allowsHostName("API.EXAMPLE.COM")).toBe(true);
    expect(policy.allowsHostName("example.com")).toBe(false);
    expect(policy.allowsHostName("x.api.example.com")).toBe(false);
    expect(policy.allowsHostName("api.example.com.evil.test")).toBe(false);
  });

  it("matches a wildcard against subdomains at any depth but not the bare suffix", () => {
    const policy = parseEgressPolicy(["*.example.com"]);
    expect(policy.allowsHostName("a.example.com")).toBe(true);
    expect(policy.allowsHostName("a.b.example.com")).toBe(true);
    expect(policy.allowsHostName("example.com")).toBe(false);
    expect(policy.allowsHostName("badexample.com")).toBe(false);
  });

  it("stores international names in punycode, as URLs carry them", () => {
    expect(parseEgressPolicy(["bücher.example"]).allowsHostName(new URL("http://bücher.example/").hostname)).toBe(true);
  });

  it("lets * admit every name and every public address, but no private address", () => {
    const policy = parseEgressPolicy(["*"]);
    expect(policy.allowsHostName("anything.test")).toBe(true);
    expect(policy.verdictFor(address("93.184.216.34"))).toEqual({ allowed: true, by: "public" });
    expect(policy.verdictFor(address("10.1.2.3"))).toEqual({ allowed: false, range: "private" });
    expect(policy.verdictFor(address("::1"))).toEqual({ allowed: false, range: "loopback" });
  });

  it("admits a non-public address only through an IP or CIDR entry that contains it", () => {
    const policy = parseEgressPolicy(["127.0.0.1", "10.0.0.0/8", "fd00::/8", "localhost"]);
    expect(policy.verdictFor(address("127.0.0.1"))).toEqual({ allowed: true, by: "entry" });
    expect(policy.verdictFor(address("::ffff:127.0.0.1"))).toEqual({ allowed: true, by: "entry" });
    expect(policy.verdictFor(address("127.0.0.2"))).toEqual({ allowed: false, range: "loopback" });
    expect(policy.verdictFor(address("10.1.2.3"))).toEqual({ allowed: true, by: "entry" });
    expect(policy.verdictFor(address("64:ff9b::a01:203"))).toEqual({ allowed: true, by: "entry" });
    expect(policy.verdictFor(address("fd12::1"))).toEqual({ allowed: true, by: "entry" });
    expect(policy.verdictFor(address("::1"))).toEqual({ allowed: false, range: "loopback" });
  });

  it("admits a cloud metadata address only through an entry naming exactly that address", () => {
    expect(parseEgressPolicy(["169.254.0.0/16", "100.64.0.0/10"]).verdictFor(address("169.254.169.254"))).toEqual({
      allowed: false,
      range: "metadata",
    });
    expect(parseEgressPolicy(["100.64.0.0/10"]).verdictFor(address("100.100.100.200")).allowed).toBe(false);
    expect(parseEgressPolicy(["169.254.169.254"]).verdictFor(address("169.254.169.254")).allowed).toBe(true);
  });

  it("reads an IPv4-mapped IPv6 entry as the IPv4 address", () => {
    const policy = parseEgressPolicy(["::ffff:10.0.0.0/104", "[::ffff:127.0.0.1]"]);
    expect(policy.verdictFor(address("10.9.9.9")).allowed).toBe(true);
    expect(policy.verdictFor(address("127.0.0.1")).allowed).toBe(true);
  });

  it("admits nothing when the list is empty", () => {
    const policy = parseEgressPolicy([]);
    expect(policy.allowsHostName("example.com")).toBe(false);
    expect(policy.allowsAnyPublicHost).toBe(false);
  });
});
