import { AppError, ErrorCode } from "@sprintconnect/core";
import { EgressGuard, type EgressResolver } from "./egress-guard";
import { parseEgressPolicy } from "./egress-policy";

/** A resolver from a fixed table; names not in it do not resolve. */
function tableResolver(table: Record<string, string[]>): EgressResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return addresses;
  };
  return Object.assign(resolve, { calls });
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  expect(error.code).toBe(ErrorCode.EGRESS_DENIED);
  return error;
}

const details = (error: AppError) => error.extensions.details as Record<string, unknown>;

describe("egress guard check", () => {
  const anyPublic = new EgressGuard(parseEgressPolicy(["*"]), { resolve: tableResolver({}) });

  it.each([
    ["http://169.254.169.254/latest/meta-data/", "metadata"],
    ["http://10.0.0.1/", "private"],
    ["http://10.255.1.2:8080/x", "private"],
    ["http://172.16.0.1/", "private"],
    ["http://172.31.9.9/", "private"],
    ["http://192.168.0.1/", "private"],
    ["http://127.0.0.1/", "loopback"],
    ["http://127.8.9.10/", "loopback"],
    ["http://[::1]/", "loopback"],
    ["http://0.0.0.0/", "unspecified"],
    ["http://[fe80::1]/", "link_local"],
    ["http://100.100.100.200/", "metadata"],
    ["http://[fd00:ec2::254]/", "metadata"],
  ])("refuses %s under a policy that does not name it", async (url, range) => {
    const error = await refusal(anyPublic.check(url));
    expect(details(error)).toMatchObject({ reason: "private_address", range });
    expect(error.message).toContain(new URL(url).hostname);
  });

  it.each([
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://[::ffff:7f00:1]/", "loopback"],
    ["http://[::ffff:a9fe:a9fe]/", "metadata"],
    ["http://[::ffff:10.0.0.5]/", "private"],
    ["http://[64:ff9b::a00:5]/", "private"],
  ])("refuses the IPv6 form %s of a non-public IPv4 address", async (url, range) => {
    expect(details(await refusal(anyPublic.check(url)))).toMatchObject({ reason: "private_address", range });
  });

  it.each([
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://017700000001/",
  ])("recognises %s as the loopback address it reaches", async (url) => {
    const error = await refusal(anyPublic.check(url));
    expect(details(error)).toMatchObject({ reason: "private_address", address: "127.0.0.1", range: "loopback" });
  });

  it("recognises a decimal form of the metadata address", async () => {
    expect(details(await refusal(anyPublic.check("http://2852039166/")))).toMatchObject({ range: "metadata" });
  });

  it("lets * admit a public address literal, without connecting", async () => {
    const target = await anyPublic.check("https://93.184.216.34/mcp");
    expect(target).toMatchObject({ address: "93.184.216.34", family: 4 });
    expect(target.url.href).toBe("https://93.184.216.34/mcp");
    await expect(anyPublic.check("http://[2606:4700:4700::1111]/")).resolves.toMatchObject({ family: 6 });
  });

  it("refuses a public address literal that a policy without * does not name", async () => {
    const guard = new EgressGuard(parseEgressPolicy(["api.example.test"]), { resolve: tableResolver({}) });
    expect(details(await refusal(guard.check("http://93.184.216.34/")))).toMatchObject({ reason: "not_allowlisted" });
  });

  it("admits loopback when an entry names 127.0.0.1, and only that address", async () => {
    const guard = new EgressGuard(parseEgressPolicy(["127.0.0.1"]), { resolve: tableResolver({}) });
    await expect(guard.check("http://127.0.0.1:4000/mcp")).resolves.toMatchObject({ address: "127.0.0.1" });
    await expect(guard.check("http://2130706433:4000/")).resolves.toMatchObject({ address: "127.0.0.1" });
    await expect(guard.check("http://[::ffff:127.0.0.1]/")).resolves.toMatchObject({ address: "127.0.0.1", family: 4 });
    await refusal(guard.check("http://127.0.0.2/"));
    await refusal(guard.check("http://[::1]/"));
  });

  it("admits a private address inside a CIDR entry", async () => {
    const guard = new EgressGuard(parseEgressPolicy(["10.0.0.0/8"]), { resolve: tableResolver({}) });
    await expect(guard.check("http://10.1.2.3/")).resolves.toMatchObject({ address: "10.1.2.3" });
    await refusal(guard.check("http://11.1.2.3/"));
  });

  it("matches wildcard entries against subdomains only", async () => {
    const resolver = tableResolver({ "a.example.test": ["93.184.216.34"], "example.test": ["93.184.216.34"] });
    const guard = new EgressGuard(parseEgressPolicy(["*.example.test"]), { resolve: resolver });
    await expect(guard.check("https://A.Example.Test/")).resolves.toMatchObject({ address: "93.184.216.34" });
    const error = await refusal(guard.check("https://example.test/"));
    expect(details(error)).toMatchObject({ reason: "not_allowlisted", host: "example.test" });
    // A refused name is not even resolved.
    expect(resolver.calls).toEqual(["a.example.test"]);
  });

  it("refuses a host name that resolves to a private address, telling the rule but never the address or its range", async () => {
    const logged: unknown[] = [];
    const guard = new EgressGuard(parseEgressPolicy(["*", "evil.example.test"]), {
      resolve: tableResolver({ "evil.example.test": ["10.0.0.5"] }),
      logger: { warn: (fields: unknown) => logged.push(fields) },
    });
    const error = await refusal(guard.check("http://evil.example.test/"));
    expect(details(error)).toEqual({
      reason: "private_address",
      host: "evil.example.test",
      url: "http://evil.example.test/",
    });
    expect(error.message).toMatch(/evil\.example\.test.*non-public address.*ALLOWED_EGRESS_HOSTS/);
    expect(JSON.stringify({ message: error.message, extensions: error.extensions })).not.toMatch(
      /10\.0\.0\.5|private\b/,
    );
    // The operator still learns it, server-side.
    expect(logged).toEqual([{ host: "evil.example.test", address: "10.0.0.5", range: "private" }]);
  });

  it("refuses a host name when any one of its addresses is refused", async () => {
    const resolver = tableResolver({ "mixed.example.test": ["93.184.216.34", "2606:4700::1", "::ffff:192.168.1.1"] });
    const guard = new EgressGuard(parseEgressPolicy(["*"]), { resolve: resolver });
    const error = await refusal(guard.check("https://mixed.example.test/"));
    expect(details(error)).toMatchObject({ reason: "private_address", host: "mixed.example.test" });
    expect(error.message).not.toMatch(/192\.168/);
  });

  it("tells the caller a name does not resolve without the resolver's own words", async () => {
    const guard = new EgressGuard(parseEgressPolicy(["*"]), { resolve: tableResolver({}) });
    const error = await refusal(guard.check("https://nowhere.internal.test/"));
    expect(details(error)).toMatchObject({ reason: "unresolvable", host: "nowhere.internal.test" });
    expect(error.message).not.toMatch(/ENOTFOUND|getaddrinfo/);
  });

  it("pins the first address of a name whose addresses are all allowed, resolving it once", async () => {
    const resolver = tableResolver({ "api.example.test": ["93.184.216.34", "2606:4700::1"] });
    const guard = new EgressGuard(parseEgressPolicy(["api.example.test"]), { resolve: resolver });
    await expect(guard.check("https://api.example.test/v1")).resolves.toMatchObject({
      address: "93.184.216.34",
      family: 4,
    });
    expect(resolver.calls).toEqual(["api.example.test"]);
  });

  it("admits a name resolving to a private address that a CIDR entry names", async () => {
    const guard = new EgressGuard(parseEgressPolicy(["internal.test", "10.0.0.0/8"]), {
      resolve: tableResolver({ "internal.test": ["10.0.0.5"] }),
    });
    await expect(guard.check("http://internal.test/")).resolves.toMatchObject({ address: "10.0.0.5" });
  });

  it.each(["ftp://example.test/", "file:///etc/passwd", "gopher://127.0.0.1:6379/", "ws://example.test/"])(
    "refuses the scheme of %s",
    async (url) => {
      expect(details(await refusal(anyPublic.check(url)))).toMatchObject({ reason: "scheme" });
    },
  );

  it("refuses credentials in the URL and does not repeat them", async () => {
    const error = await refusal(anyPublic.check("https://user:s3cret@93.184.216.34/"));
    expect(details(error)).toEqual({ reason: "credentials", url: "https://93.184.216.34/" });
    expect(JSON.stringify(error)).not.toContain("s3cret");
  });

  it("refuses a URL that does not parse", async () => {
    expect(details(await refusal(anyPublic.check("not a url")))).toMatchObject({ reason: "invalid_url" });
  });
});
