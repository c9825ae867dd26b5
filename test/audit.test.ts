import { verifyAuditChain } from "@sprintconnect/core";
import { Client } from "pg";
import { TEST_DATABASE_URL } from "./support/env";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

let stack: Stack;
let org: TestOrg;

beforeAll(async () => {
  stack = await startStack();
  org = await createTestOrg(stack, "Audited");
  const server = (
    await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "audited", baseUrl: "http://audit.example.com/mcp" },
    })
  ).body;
  await request(stack.url, "PATCH", `/v1/mcp/servers/${server.id}`, { auth: org.ownerKey, body: { tags: ["a"] } });
  await request(stack.url, "POST", "/auth/api-keys", { auth: org.ownerKey, body: { name: "ci" } });
  await request(stack.url, "DELETE", `/v1/mcp/servers/${server.id}`, { auth: org.ownerKey });
});
afterAll(() => stack.close());

async function superuser<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe("the audit log", () => {
  it("records every mutation with actor, action, target and request id", async () => {
    const res = await request(stack.url, "GET", "/v1/audit/logs?limit=50", { auth: org.ownerKey });
    expect(res.status).toBe(200);
    const actions = res.body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(["server.registered", "server.updated", "api_key.created", "server.deregistered"]),
    );
    const registered = res.body.items.find((e: { action: string }) => e.action === "server.registered");
    expect(registered).toMatchObject({ actorType: "api_key", targetType: "mcp_server" });
    expect(registered.requestId).toEqual(expect.any(String));
    expect(JSON.stringify(res.body)).not.toMatch(/sc_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}/); // no key ever logged
  });

  it("verifies after a series of mutations", async () => {
    const result = await verifyAuditChain(stack.db, org.organizationId);
    expect(result).toMatchObject({ ok: true, firstBadSeq: null });
    expect(result.entries).toBeGreaterThanOrEqual(5);
  });

  it("is refused UPDATE, DELETE and TRUNCATE by PostgreSQL itself", async () => {
    await superuser(async (c) => {
      await expect(
        c.query(`UPDATE "AuditLog" SET action = 'x' WHERE "organizationId" = $1`, [org.organizationId]),
      ).rejects.toThrow(/append-only/);
      await expect(c.query(`DELETE FROM "AuditLog" WHERE "organizationId" = $1`, [org.organizationId])).rejects.toThrow(
        /append-only/,
      );
      await expect(c.query(`TRUNCATE "AuditLog"`)).rejects.toThrow(/append-only/);
    });
    await expect(
      stack.db.auditLog.updateMany({ where: { organizationId: org.organizationId }, data: { action: "x" } }),
    ).rejects.toThrow();
  });

  it("detects a row changed behind the application's back", async () => {
    const tampered = await createTestOrg(stack, "Tampered");
    await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: tampered.ownerKey,
      body: { name: "t", baseUrl: "http://t.example.com" },
    });
    expect((await verifyAuditChain(stack.db, tampered.organizationId)).ok).toBe(true);
    // An operator with table-owner rights switches the guard off, edits, and switches it back.
    await superuser(async (c) => {
      await c.query(`ALTER TABLE "AuditLog" DISABLE TRIGGER "AuditLog_append_only"`);
      try {
        await c.query(
          `UPDATE "AuditLog" SET data = '{"after":{"name":"innocent"}}' WHERE "organizationId" = $1 AND action = 'server.registered'`,
          [tampered.organizationId],
        );
      } finally {
        await c.query(`ALTER TABLE "AuditLog" ENABLE TRIGGER "AuditLog_append_only"`);
      }
    });
    const result = await verifyAuditChain(stack.db, tampered.organizationId);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/hash/);
    const bad = await stack.db.auditLog.findFirstOrThrow({
      where: { organizationId: tampered.organizationId, action: "server.registered" },
    });
    expect(result.firstBadSeq).toBe(bad.seq.toString());
  });

  it("detects a removed entry", async () => {
    const gap = await createTestOrg(stack, "Gap");
    for (const name of ["one", "two"]) {
      await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: gap.ownerKey,
        body: { name, baseUrl: "http://g.example.com" },
      });
    }
    await superuser(async (c) => {
      await c.query(`ALTER TABLE "AuditLog" DISABLE TRIGGER "AuditLog_append_only"`);
      try {
        await c.query(
          `DELETE FROM "AuditLog" WHERE "organizationId" = $1 AND seq = (SELECT min(seq) + 1 FROM "AuditLog" WHERE "organizationId" = $1)`,
          [gap.organizationId],
        );
      } finally {
        await c.query(`ALTER TABLE "AuditLog" ENABLE TRIGGER "AuditLog_append_only"`);
      }
    });
    expect((await verifyAuditChain(stack.db, gap.organizationId)).ok).toBe(false);
  });

  it("keeps one unbroken chain under concurrent writers", async () => {
    const busy = await createTestOrg(stack, "Busy");
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        request(stack.url, "POST", "/v1/mcp/servers", {
          auth: busy.ownerKey,
          body: { name: `c${i}`, baseUrl: "http://c.example.com" },
        }),
      ),
    );
    const result = await verifyAuditChain(stack.db, busy.organizationId);
    expect(result.ok).toBe(true);
    expect(result.entries).toBeGreaterThanOrEqual(13);
  });
});
