import { createLogger, verifyAuditChain } from "@sprintconnect/core";
import { Scheduler } from "@sprintconnect/worker";
import { run as auditVerify } from "../packages/cli/src/commands/audit-verify";
import { TEST_APP_DATABASE_URL, TEST_DATABASE_URL, withEnv } from "./support/env";
import { graphql, request } from "./support/http";
import { asDatabaseOwner } from "./support/own-services";
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
    await asDatabaseOwner(async (c) => {
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
    await asDatabaseOwner(async (c) => {
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
    await asDatabaseOwner(async (c) => {
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

const VERIFY = "{ verifyAuditLog { ok entries firstBadSeq reason anchoredSeq anchoredAt } }";

/** An organization with `count` audited registrations; returns it and its head's seq. */
async function auditedOrg(name: string, count: number): Promise<{ org: TestOrg; head: bigint }> {
  const created = await createTestOrg(stack, name);
  for (let i = 0; i < count; i++) {
    const res = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: created.ownerKey,
      body: { name: `s${i}`, baseUrl: "http://anchored.example.com/mcp" },
    });
    expect(res.status).toBe(201);
  }
  const head = await stack.db.auditLog.findFirstOrThrow({
    where: { organizationId: created.organizationId },
    orderBy: { seq: "desc" },
  });
  return { org: created, head: head.seq };
}

/** What an operator with the owner's rights can do: switch the guard off and cut the newest entries. */
async function cutNewest(organizationId: string, count: number): Promise<void> {
  await asDatabaseOwner(async (c) => {
    await c.query(`ALTER TABLE "AuditLog" DISABLE TRIGGER "AuditLog_append_only"`);
    try {
      await c.query(
        `DELETE FROM "AuditLog" WHERE "organizationId" = $1 AND seq > (SELECT max(seq) - $2 FROM "AuditLog" WHERE "organizationId" = $1)`,
        [organizationId, count],
      );
    } finally {
      await c.query(`ALTER TABLE "AuditLog" ENABLE TRIGGER "AuditLog_append_only"`);
    }
  });
}

/** `audit verify --org <id> --json` against the test database: exit code and its JSON line. */
async function cliVerify(organizationId: string): Promise<{ code: number; result: Record<string, unknown> }> {
  const lines: string[] = [];
  const write = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const code = await withEnv({ DATABASE_URL: TEST_DATABASE_URL }, () =>
      auditVerify(["--org", organizationId, "--json"]),
    );
    return { code, result: JSON.parse(lines.join("")) };
  } finally {
    write.mockRestore();
  }
}

describe("anchors of the audit log", () => {
  it("detects the newest entries cut off below the anchor that verification signed", async () => {
    const { org: cut, head } = await auditedOrg("Cut", 4);
    const before = await graphql(stack.url, cut.ownerKey, VERIFY);
    expect(before.body.data.verifyAuditLog).toMatchObject({ ok: true, anchoredSeq: head.toString() });

    await cutNewest(cut.organizationId, 2);
    // The remaining chain is still a valid chain: only the anchor shows what is missing.
    expect((await verifyAuditChain(stack.db, cut.organizationId)).ok).toBe(true);
    const after = await graphql(stack.url, cut.ownerKey, VERIFY);
    expect(after.status).toBe(200);
    expect(after.body.data.verifyAuditLog).toMatchObject({
      ok: false,
      firstBadSeq: (head - 1n).toString(),
      anchoredSeq: head.toString(),
    });
    expect(after.body.data.verifyAuditLog.reason).toMatch(/missing/);
    // A broken log is never anchored at its new, shorter end.
    expect(await stack.db.auditAnchor.count({ where: { organizationId: cut.organizationId } })).toBe(1);
  });

  it("makes `audit verify` exit 1 when the newest entries were cut off after it anchored the head", async () => {
    const { org: cut, head } = await auditedOrg("CliCut", 3);
    const first = await cliVerify(cut.organizationId);
    expect(first).toMatchObject({ code: 0, result: { ok: true, anchoredSeq: head.toString() } });

    await cutNewest(cut.organizationId, 1);
    const second = await cliVerify(cut.organizationId);
    expect(second.code).toBe(1);
    expect(second.result).toMatchObject({ ok: false, firstBadSeq: head.toString() });
  });

  it("detects entries cut off below the anchor the scheduler signed, and never anchors the shorter log", async () => {
    const { org: cut, head } = await auditedOrg("Scheduled cut", 3);
    const scheduler = new Scheduler({
      db: stack.db,
      redis: stack.redis,
      queues: stack.queues,
      env: stack.workerEnv,
      logger: createLogger("test", "silent"),
      keys: stack.keys,
    });
    const anchored = await scheduler.anchorAuditLogs();
    expect(anchored.find((a) => a.organizationId === cut.organizationId)?.seq).toBe(head);

    await cutNewest(cut.organizationId, 2);
    // New entries after the cut reuse the missing positions with other content.
    await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: cut.ownerKey,
      body: { name: "after-the-cut", baseUrl: "http://anchored.example.com/mcp" },
    });
    expect((await scheduler.anchorAuditLogs()).some((a) => a.organizationId === cut.organizationId)).toBe(false);
    const result = (await graphql(stack.url, cut.ownerKey, VERIFY)).body.data.verifyAuditLog;
    expect(result).toMatchObject({ ok: false, anchoredSeq: head.toString() });
    expect(result.reason).toMatch(/missing|not the one anchored/);
  });

  it("refuses an anchor this deployment did not sign, though the application role can insert one", async () => {
    const { org: forged, head } = await auditedOrg("Forged", 2);
    // Someone with the application's database role adds an anchor naming a shorter log…
    await stack.db.auditAnchor.create({
      data: {
        organizationId: forged.organizationId,
        seq: head + 5n,
        hash: "f".repeat(64),
        signedAt: new Date(),
        keyId: stack.keys.kid,
        signature: Buffer.alloc(64, 1).toString("base64url"),
      },
    });
    const result = (await graphql(stack.url, forged.ownerKey, VERIFY)).body.data.verifyAuditLog;
    expect(result).toMatchObject({ ok: false, firstBadSeq: (head + 5n).toString() });
    expect(result.reason).toMatch(/valid signature/);
  });
});

describe("the application's database role", () => {
  it("cannot switch the audit log's guard off, change, delete or truncate entries or anchors", async () => {
    await asDatabaseOwner(async (c) => {
      const me = await c.query("SELECT current_user AS role, usesuper FROM pg_user WHERE usename = current_user");
      expect(me.rows[0]).toMatchObject({ role: expect.stringMatching(/_app$/), usesuper: false });
      for (const table of ["AuditLog", "AuditAnchor"]) {
        await expect(c.query(`ALTER TABLE "${table}" DISABLE TRIGGER "${table}_append_only"`)).rejects.toThrow(
          /must be owner/,
        );
        await expect(c.query(`ALTER TABLE "${table}" DISABLE TRIGGER ALL`)).rejects.toThrow(/must be owner/);
        await expect(c.query(`UPDATE "${table}" SET seq = seq WHERE false`)).rejects.toThrow(/permission denied/);
        await expect(c.query(`DELETE FROM "${table}" WHERE false`)).rejects.toThrow(/permission denied/);
        await expect(c.query(`TRUNCATE "${table}"`)).rejects.toThrow(/permission denied/);
        await expect(c.query(`DROP TABLE "${table}"`)).rejects.toThrow(/must be owner/);
      }
      await expect(c.query(`CREATE TABLE "Sneaky" (id int)`)).rejects.toThrow(/permission denied/);
      await expect(c.query(`SELECT * FROM "_prisma_migrations"`)).rejects.toThrow(/permission denied/);
      await expect(c.query(`SET session_replication_role = replica`)).rejects.toThrow(/permission denied/);
      // What the application does: read and append.
      const rows = await c.query(`SELECT count(*)::int AS n FROM "AuditLog" WHERE "organizationId" = $1`, [
        org.organizationId,
      ]);
      expect(rows.rows[0].n).toBeGreaterThanOrEqual(5);
    }, TEST_APP_DATABASE_URL);
  });
});
