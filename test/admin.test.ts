import { verifyAuditChain } from "@sprintconnect/core";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

let stack: Stack;
let org: TestOrg;
let admin: { userId: string; apiKey: string };
let n = 0;
const email = () => `member-${Date.now()}-${n++}@example.test`;

beforeAll(async () => {
  stack = await startStack();
  org = await createTestOrg(stack, "Admin");
  admin = await org.member("admin");
});
afterAll(() => stack.close());

const addMember = (auth: string, input: Record<string, unknown>) =>
  graphql(
    stack.url,
    auth,
    "mutation($input: AddMemberInput!) { addMember(input: $input) { id role user { id email } } }",
    {
      input,
    },
  );
const setRole = (auth: string, userId: string, role: string) =>
  graphql(stack.url, auth, "mutation($u: ID!, $r: Role!) { updateMemberRole(userId: $u, role: $r) { role } }", {
    u: userId,
    r: role,
  });
const remove = (auth: string, userId: string) =>
  graphql(stack.url, auth, "mutation($u: ID!) { removeMember(userId: $u) }", { u: userId });

describe("members", () => {
  it("adds a member by email, creating the user once, and refuses a second membership as CONFLICT", async () => {
    const address = email();
    const added = await addMember(org.ownerKey, { email: address, role: "developer", name: "Dev" });
    expect(added.body.errors).toBeUndefined();
    expect(added.body.data.addMember).toMatchObject({ role: "developer", user: { email: address } });
    const again = await addMember(org.ownerKey, { email: address, role: "viewer" });
    expect(again.body.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect(await stack.db.user.count({ where: { email: address } })).toBe(1);
  });

  it("refuses an invalid email with VALIDATION_FAILED", async () => {
    const res = await addMember(org.ownerKey, { email: "not-an-email", role: "viewer" });
    expect(res.body.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
  });

  it("lets only an owner grant or change the owner role", async () => {
    const denied = await addMember(admin.apiKey, { email: email(), role: "owner" });
    expect(denied.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const viewer = await org.member("viewer");
    expect((await setRole(admin.apiKey, viewer.userId, "owner")).body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await setRole(org.ownerKey, viewer.userId, "owner")).body.data.updateMemberRole.role).toBe("owner");
    expect((await setRole(admin.apiKey, viewer.userId, "viewer")).body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await setRole(org.ownerKey, viewer.userId, "viewer")).body.data.updateMemberRole.role).toBe("viewer");
  });

  it("always keeps one owner", async () => {
    const solo = await createTestOrg(stack, "Solo");
    const demote = await setRole(solo.ownerKey, solo.ownerId, "admin");
    expect(demote.body.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    const leave = await remove(solo.ownerKey, solo.ownerId);
    expect(leave.body.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect((await stack.db.membership.findFirstOrThrow({ where: { userId: solo.ownerId } })).role).toBe("owner");
  });

  it("removes a member, whose keys stop working at once", async () => {
    const dev = await org.member("developer");
    expect((await request(stack.url, "GET", "/auth/me", { auth: dev.apiKey })).status).toBe(200);
    const removed = await remove(admin.apiKey, dev.userId);
    expect(removed.body.data.removeMember).toBe(true);
    expect((await request(stack.url, "GET", "/auth/me", { auth: dev.apiKey })).status).toBe(401);
    expect((await request(stack.url, "GET", "/auth/me", { auth: dev.token })).status).toBe(401);
  });

  it("shows nothing another organization knows about a user added by an email that already exists there", async () => {
    const other = await createTestOrg(stack, "Name elsewhere");
    const address = email();
    const there = await addMember(other.ownerKey, { email: address, role: "viewer", name: "Secret Name Elsewhere" });
    expect(there.body.errors).toBeUndefined();

    const named = await graphql(
      stack.url,
      org.ownerKey,
      "mutation($input: AddMemberInput!) { addMember(input: $input) { user { id email name } } }",
      { input: { email: address, role: "viewer", name: "Our Name" } },
    );
    expect(named.body.data.addMember.user).toMatchObject({ email: address, name: "Our Name" });
    const unnamed = await graphql(
      stack.url,
      admin.apiKey,
      "mutation($input: AddMemberInput!) { addMember(input: $input) { user { name } } }",
      { input: { email: `x${address}`, role: "viewer" } },
    );
    expect(unnamed.body.data.addMember.user.name).toBeNull();
    const members = await graphql(stack.url, org.ownerKey, "{ members(limit: 100) { items { user { email name } } } }");
    expect(members.body.data.members.items).toContainEqual({ user: { email: address, name: "Our Name" } });
    expect(JSON.stringify([named.body, members.body])).not.toContain("Secret Name Elsewhere");

    // The same user, added with no name to a third organization, has none there.
    const third = await createTestOrg(stack, "Third");
    const added = await graphql(
      stack.url,
      third.ownerKey,
      "mutation($input: AddMemberInput!) { addMember(input: $input) { user { name } } }",
      { input: { email: address, role: "viewer" } },
    );
    expect(added.body.data.addMember.user.name).toBeNull();
  });

  it("answers NOT_FOUND for a user of another organization", async () => {
    const other = await createTestOrg(stack, "Other admin");
    const res = await setRole(org.ownerKey, other.ownerId, "viewer");
    expect(res.body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });
});

describe("API keys", () => {
  it("lists one's own keys, and every key of the organization with api_keys:manage, never a hash", async () => {
    const dev = await org.member("developer");
    await request(stack.url, "POST", "/auth/api-keys", { auth: dev.apiKey, body: { name: "dev extra" } });
    const mine = await graphql(stack.url, dev.apiKey, "{ apiKeys(limit: 100) { items { userId name prefix } } }");
    expect(new Set(mine.body.data.apiKeys.items.map((k: { userId: string }) => k.userId))).toEqual(
      new Set([dev.userId]),
    );
    const all = await graphql(stack.url, admin.apiKey, "{ apiKeys(limit: 100) { items { userId } } }");
    expect(new Set(all.body.data.apiKeys.items.map((k: { userId: string }) => k.userId)).size).toBeGreaterThan(1);
    expect(JSON.stringify(all.body)).not.toMatch(/hash/i);
  });

  it("lets a developer revoke only their own keys; an admin may revoke anyone's", async () => {
    const dev = await org.member("developer");
    const ownerKey = (
      await request(stack.url, "POST", "/auth/api-keys", { auth: org.ownerKey, body: { name: "owner's" } })
    ).body;
    const denied = await request(stack.url, "DELETE", `/auth/api-keys/${ownerKey.apiKey.id}`, { auth: dev.apiKey });
    expect([403, 404]).toContain(denied.status);
    expect((await request(stack.url, "GET", "/auth/me", { auth: ownerKey.key })).status).toBe(200);
    const byAdmin = await request(stack.url, "DELETE", `/auth/api-keys/${ownerKey.apiKey.id}`, { auth: admin.apiKey });
    expect(byAdmin.status).toBe(204);
    expect((await request(stack.url, "GET", "/auth/me", { auth: ownerKey.key })).status).toBe(401);
  });

  const createKey = (auth: string, body: Record<string, unknown>) =>
    request(stack.url, "POST", "/auth/api-keys", { auth, body });
  const works = async (key: string) => (await request(stack.url, "GET", "/auth/me", { auth: key })).status;

  it("makes a key created with an expiring key expire no later than it", async () => {
    const parentExpiry = new Date(Date.now() + 3_600_000);
    const parent = (await createKey(org.ownerKey, { name: "expiring", expiresAt: parentExpiry.toISOString() })).body;
    expect(new Date(parent.apiKey.expiresAt).getTime()).toBe(parentExpiry.getTime());

    const forever = await createKey(parent.key, { name: "forever" });
    expect(forever.status).toBe(201);
    expect(new Date(forever.body.apiKey.expiresAt).getTime()).toBe(parentExpiry.getTime());
    const later = await createKey(parent.key, {
      name: "later",
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(new Date(later.body.apiKey.expiresAt).getTime()).toBe(parentExpiry.getTime());
    const sooner = new Date(Date.now() + 600_000);
    const earlier = await createKey(parent.key, { name: "sooner", expiresAt: sooner.toISOString() });
    expect(new Date(earlier.body.apiKey.expiresAt).getTime()).toBe(sooner.getTime());
    // A grandchild is bound by the whole chain.
    const grandchild = await createKey(forever.body.key, { name: "grandchild" });
    expect(new Date(grandchild.body.apiKey.expiresAt).getTime()).toBe(parentExpiry.getTime());
  });

  it("revokes every key created with a key, transitively, when that key is revoked", async () => {
    const dev = await org.member("developer");
    const parent = (await createKey(dev.token, { name: "parent" })).body;
    const child = (await createKey(parent.key, { name: "child" })).body;
    const grandchild = (await createKey(child.key, { name: "grandchild" })).body;
    const sibling = (await createKey(dev.token, { name: "sibling" })).body;
    expect([await works(child.key), await works(grandchild.key)]).toEqual([200, 200]);

    const revoked = await request(stack.url, "DELETE", `/auth/api-keys/${parent.apiKey.id}`, { auth: dev.apiKey });
    expect(revoked.status).toBe(204);
    // Refused on the very next request (the parent is in the gateway's cache: it created the child).
    expect([await works(parent.key), await works(child.key), await works(grandchild.key)]).toEqual([401, 401, 401]);
    expect(await works(sibling.key)).toBe(200);
    const rows = await stack.db.apiKey.findMany({ where: { id: { in: [child.apiKey.id, grandchild.apiKey.id] } } });
    expect(rows.map((r) => r.revokedAt)).toEqual([expect.any(Date), expect.any(Date)]);
    const audited = await stack.db.auditLog.count({
      where: { organizationId: org.organizationId, action: "api_key.revoked", targetId: { in: rows.map((r) => r.id) } },
    });
    expect(audited).toBe(2);
  });

  it("refuses a key whose ancestor is revoked even where the revocation did not reach it", async () => {
    const parent = (await createKey(org.ownerKey, { name: "parent" })).body;
    const child = (await createKey(parent.key, { name: "child" })).body;
    const grandchild = (await createKey(child.key, { name: "grandchild" })).body;
    // Behind the API's back, as a row written before revocation cascaded would be. Nothing
    // announces it, so a gateway that cached the child (it created the grandchild) refuses it
    // once the entry expires (AUTH_CACHE_TTL_SECONDS); the grandchild was never cached.
    await stack.db.apiKey.update({ where: { id: parent.apiKey.id }, data: { revokedAt: new Date() } });
    expect(await works(grandchild.key)).toBe(401);
    await waitFor("the cached child key to be refused", async () => (await works(child.key)) === 401);
  });

  it("refuses an unknown scope and a past expiry with VALIDATION_FAILED", async () => {
    for (const body of [
      { name: "bad scope", scopes: ["servers:explode"] },
      { name: "expired", expiresAt: new Date(Date.now() - 60_000).toISOString() },
    ]) {
      const res = await request(stack.url, "POST", "/auth/api-keys", { auth: org.ownerKey, body });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("the audit log API", () => {
  it("filters by action and target, pages without repeats, and verifies the chain", async () => {
    const audited = await createTestOrg(stack, "Audit API");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: audited.ownerKey,
        body: { name: `a${i}`, baseUrl: "https://audit.example.com/mcp" },
      });
      ids.push(res.body.id);
    }
    const byAction = await request(stack.url, "GET", "/v1/audit/logs?action=server.registered&limit=2", {
      auth: audited.ownerKey,
    });
    expect(byAction.body.items).toHaveLength(2);
    const seen = [...byAction.body.items];
    let cursor = byAction.body.nextCursor;
    while (cursor) {
      const page = await request(stack.url, "GET", `/v1/audit/logs?action=server.registered&limit=2&cursor=${cursor}`, {
        auth: audited.ownerKey,
      });
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    expect(seen.map((e) => e.targetId).sort()).toEqual([...ids].sort());
    expect(seen.every((e) => e.action === "server.registered")).toBe(true);
    const byTarget = await request(stack.url, "GET", `/v1/audit/logs?targetId=${ids[0]}`, { auth: audited.ownerKey });
    expect(byTarget.body.items.map((e: { targetId: string }) => e.targetId)).toEqual([ids[0]]);

    const verified = await graphql(stack.url, audited.ownerKey, "{ verifyAuditLog { ok entries firstBadSeq } }");
    expect(verified.body.data.verifyAuditLog).toMatchObject({ ok: true, firstBadSeq: null });
    expect(verified.body.data.verifyAuditLog.entries).toBe(
      (await verifyAuditChain(stack.db, audited.organizationId)).entries,
    );
  });
});
