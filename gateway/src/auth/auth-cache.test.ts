import type { Principal } from "@sprintconnect/core";
import { AuthCache, EPOCH_LAG_MS } from "./auth-cache";

const ORG = "org-1";
const principal = (userId: string, apiKeyId: string | null = null): Principal => ({
  organizationId: ORG,
  userId,
  apiKeyId,
  role: "developer",
  scopes: ["servers:read"],
  authMethod: apiKeyId ? "api_key" : "jwt",
});

function cache(ttlMs = 10_000, max = 100) {
  let now = 1_000_000;
  const c = new AuthCache(ttlMs, max, () => now);
  c.start(0);
  return { c, advance: (ms: number) => (now += ms), now: () => now };
}

const fill = (c: AuthCache, digest: string, p: Principal, keyChain: string[] = [], expiresAt: Date | null = null) =>
  c.set(digest, { principal: p, keyChain }, c.begin(), expiresAt);

describe("AuthCache", () => {
  it("stores nothing before it knows its starting epoch, and trusts nothing stored before it", () => {
    const c = new AuthCache(10_000, 100);
    c.set("early", { principal: principal("u1", "k1"), keyChain: ["k1"] }, c.begin(), null);
    c.start(5);
    expect(c.get("early")).toBeUndefined();
    fill(c, "later", principal("u2", "k2"), ["k2"]);
    expect(c.get("later")?.principal.userId).toBe("u2");
    // A second start (the subscription was set up again) forgets what it held.
    c.start(6);
    expect(c.get("later")).toBeUndefined();
  });

  it("serves an entry until its TTL, and never past the credential's own expiry", () => {
    const { c, advance, now } = cache(10_000);
    fill(c, "a", principal("u1", "k1"));
    fill(c, "b", principal("u2", "k2"), ["k2"], new Date(now() + 2_000));
    advance(1_999);
    expect(c.get("a")?.principal.userId).toBe("u1");
    expect(c.get("b")?.principal.userId).toBe("u2");
    advance(1);
    expect(c.get("b")).toBeUndefined();
    advance(8_000);
    expect(c.get("a")).toBeUndefined();
  });

  it("drops a revoked key and every key created through it, and nothing else", () => {
    const { c } = cache();
    fill(c, "parent", principal("u1", "p"), ["p"]);
    fill(c, "child", principal("u1", "c"), ["c", "p"]);
    fill(c, "other", principal("u1", "o"), ["o"]);
    c.apply({ epoch: 1, organizationId: ORG, apiKeyIds: ["p"] });
    expect([c.get("parent"), c.get("child")]).toEqual([undefined, undefined]);
    expect(c.get("other")).toBeDefined();
  });

  it("drops a member's token and keys on a role change or removal, only in that organization", () => {
    const { c } = cache();
    fill(c, "jwt", principal("u1"));
    fill(c, "key", principal("u1", "k1"), ["k1"]);
    fill(c, "someone", principal("u2", "k2"), ["k2"]);
    c.apply({ epoch: 1, organizationId: "org-2", userId: "u1" });
    expect(c.get("jwt")).toBeDefined();
    c.apply({ epoch: 2, organizationId: ORG, userId: "u1" });
    expect([c.get("jwt"), c.get("key")]).toEqual([undefined, undefined]);
    expect(c.get("someone")).toBeDefined();
  });

  it("does not store a read that began before an invalidation arrived", () => {
    const { c } = cache();
    const generation = c.begin();
    c.apply({ epoch: 1, organizationId: ORG, apiKeyIds: ["k1"] });
    c.set("a", { principal: principal("u1", "k1"), keyChain: ["k1"] }, generation, null);
    expect(c.get("a")).toBeUndefined();
  });

  it("is not trusted while a request has seen an epoch whose message has not arrived", () => {
    const { c } = cache();
    fill(c, "a", principal("u1", "k1"), ["k1"]);
    expect(c.observe(0)).toBe(true);
    expect(c.observe(1)).toBe(false);
    expect(c.get("a")).toBeUndefined();
    c.apply({ epoch: 1, organizationId: ORG, apiKeyIds: ["elsewhere"] });
    expect(c.observe(1)).toBe(true);
    expect(c.get("a")).toBeDefined();
  });

  it("applies messages that arrive out of order once the gap is filled", () => {
    const { c } = cache();
    fill(c, "a", principal("u1", "k1"), ["k1"]);
    c.apply({ epoch: 2, organizationId: ORG, apiKeyIds: ["x"] });
    expect(c.observe(2)).toBe(false);
    c.apply({ epoch: 1, organizationId: ORG, apiKeyIds: ["y"] });
    expect(c.observe(2)).toBe(true);
    expect(c.get("a")).toBeDefined();
  });

  it("empties itself when a message stays missing, and when the counter goes back", () => {
    const { c, advance } = cache();
    fill(c, "a", principal("u1", "k1"), ["k1"]);
    expect(c.observe(1)).toBe(false);
    advance(EPOCH_LAG_MS);
    expect(c.observe(1)).toBe(false);
    expect(c.size).toBe(0);
    expect(c.observe(1)).toBe(true);
    fill(c, "a", principal("u1", "k1"), ["k1"]);
    // Redis lost the counter (a restart without persistence).
    expect(c.observe(0)).toBe(false);
    expect(c.size).toBe(0);
    expect(c.observe(0)).toBe(true);
  });

  it("keeps at most its maximum of entries, dropping the oldest, and nothing with a TTL of 0", () => {
    const { c } = cache(10_000, 2);
    fill(c, "a", principal("u1"));
    fill(c, "b", principal("u2"));
    fill(c, "c", principal("u3"));
    expect([c.get("a"), c.get("b")?.principal.userId, c.get("c")?.principal.userId]).toEqual([undefined, "u2", "u3"]);
    const off = cache(0).c;
    fill(off, "a", principal("u1"));
    expect(off.get("a")).toBeUndefined();
  });
});
