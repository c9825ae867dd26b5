import { Client } from "pg";
import { type Reply, request } from "./support/http";
import { freshDatabase } from "./support/own-services";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

// The drill kills every connection to its database, so the stack has a database of its own:
// other test files' connections are never touched.
let database: Awaited<ReturnType<typeof freshDatabase>>;
let stack: Stack;
let org: TestOrg;

beforeAll(async () => {
  database = await freshDatabase("pg_drill");
  stack = await startStack({ DATABASE_URL: database.url });
  org = await createTestOrg(stack, "Pg drill");
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await database?.drop();
});

/** What a PostgreSQL restart does to the app: every server-side connection ends at once. */
async function terminateConnections(killer: Client): Promise<number> {
  const { rowCount } = await killer.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
  );
  return rowCount ?? 0;
}

describe("PostgreSQL connections killed under load", () => {
  it("lose no acknowledged registration, fail reads and writes only with a coded error, and the stack serves again at once", async () => {
    const killer = new Client({ connectionString: database.url });
    await killer.connect();
    // Five "restarts" while registrations run: each ends every connection the stack holds.
    let killing = true;
    let kills = 0;
    const killLoop = (async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 1_000));
        kills += (await terminateConnections(killer)) > 0 ? 1 : 0;
      }
      killing = false;
    })();

    const replies: Array<{ name: string; reply: Reply }> = [];
    let next = 0;
    const registerLoop = async () => {
      while (killing) {
        const name = `drill-${next++}`;
        const reply = await request(stack.url, "POST", "/v1/mcp/servers", {
          auth: org.ownerKey,
          body: { name, baseUrl: `https://${name}.example.com/mcp` },
        });
        replies.push({ name, reply });
      }
    };
    // Reads (the registry's read model, on the same pool) beside the writes.
    const reads: Reply[] = [];
    const readLoop = async () => {
      while (killing) {
        reads.push(await request(stack.url, "GET", "/v1/mcp/servers?limit=20", { auth: org.ownerKey }));
      }
    };
    try {
      await Promise.all([registerLoop(), registerLoop(), registerLoop(), registerLoop(), readLoop(), readLoop()]);
    } finally {
      await killLoop;
      await killer.end();
    }
    expect(kills).toBeGreaterThan(2);

    const acknowledged = replies.filter((r) => r.reply.status === 201);
    const failed = replies.filter((r) => r.reply.status !== 201);
    const stored = await stack.db.mcpServer.findMany({
      where: { organizationId: org.organizationId },
      select: { id: true, name: true },
    });
    const storedIds = new Set(stored.map((s) => s.id));
    // Every acknowledged write is in the database.
    for (const { reply } of acknowledged) expect(storedIds.has(reply.body.id)).toBe(true);
    // Every refusal is a coded, retryable error: no bare 500, no stack trace.
    for (const { reply } of failed) {
      expect({ status: reply.status, code: reply.body?.error?.code ?? reply.body?.code }).toEqual({
        status: 503,
        code: "SERVICE_UNAVAILABLE",
      });
      expect(JSON.stringify(reply.body)).not.toMatch(/\n\s+at /);
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const reply of reads.filter((r) => r.status !== 200)) {
      expect({ status: reply.status, code: reply.body?.error?.code ?? reply.body?.code }).toEqual({
        status: 503,
        code: "SERVICE_UNAVAILABLE",
      });
    }
    expect(reads.some((r) => r.status === 200)).toBe(true);

    // The stack serves again without a restart.
    const again = await waitFor("a registration after the drill", async () => {
      const reply = await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: org.ownerKey,
        body: { name: `after-${Date.now()}`, baseUrl: "https://after.example.com/mcp" },
      });
      return reply.status === 201 ? reply : undefined;
    });
    const read = await request(stack.url, "GET", `/v1/mcp/servers/${again.body.id}`, { auth: org.ownerKey });
    expect(read.status).toBe(200);
  }, 120_000);
});
