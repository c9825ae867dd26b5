import { verifyAuditChain } from "@sprintconnect/core";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

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
