import { type AddressRange, classifyAddress, parseIpLiteral } from "./ip-address";

function classify(text: string) {
  const ip = parseIpLiteral(text);
  if (!ip) throw new Error(`${text} did not parse`);
  return classifyAddress(ip);
}

describe("address classification", () => {
  it.each<[string, AddressRange]>([
    ["93.184.216.34", "public"],
    ["8.8.8.8", "public"],
    ["2606:4700:4700::1111", "public"],
    ["10.0.0.1", "private"],
    ["10.255.255.255", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["100.127.255.255", "private"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["169.254.1.1", "link_local"],
    ["fe80::1", "link_local"],
    ["fc00::1", "unique_local"],
    ["fd12:3456::1", "unique_local"],
    ["169.254.169.254", "metadata"],
    ["100.100.100.200", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["::7f00:1", "reserved"],
  ])("classifies %s as %s", (address, range) => {
    expect(classify(address).range).toBe(range);
  });

  it("treats an IPv4-mapped IPv6 address, dotted or hex, as the IPv4 address", () => {
    expect(classify("::ffff:127.0.0.1")).toMatchObject({ address: "127.0.0.1", family: 4, range: "loopback" });
    expect(classify("::ffff:7f00:1")).toMatchObject({ address: "127.0.0.1", family: 4, range: "loopback" });
    expect(classify("[::ffff:a9fe:a9fe]")).toMatchObject({ address: "169.254.169.254", range: "metadata" });
    expect(classify("::ffff:93.184.216.34")).toMatchObject({ address: "93.184.216.34", range: "public" });
  });

  it("judges NAT64, SIIT and 6to4 addresses by the IPv4 address they carry", () => {
    expect(classify("64:ff9b::a00:5")).toMatchObject({ family: 6, range: "private" });
    expect(classify("64:ff9b::7f00:1").range).toBe("loopback");
    expect(classify("64:ff9b::5db8:d822").range).toBe("public");
    expect(classify("::ffff:0:a9fe:a9fe").range).toBe("metadata");
    expect(classify("2002:7f00:1::1").range).toBe("loopback");
    expect(classify("2002:5db8:d822::1").range).toBe("public");
  });

  it("does not take odd IPv4 forms or host names for standard addresses", () => {
    for (const text of ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "example.com", "1.2.3.4.5"]) {
      expect(parseIpLiteral(text)).toBeUndefined();
    }
  });
});
