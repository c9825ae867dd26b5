import { createLogger } from "@sprintconnect/core";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import { McpConnectionPool } from "@sprintconnect/worker";
import { type AuthFixture, type FailingFixture, startFixture } from "./fixtures/mcp";

/** The chat worker's pool of MCP connections, against real fixture servers over real HTTP. */
const guard = new EgressGuard(parseEgressPolicy(["127.0.0.1"]), { timeoutMs: 5_000 });
let pool: McpConnectionPool;
let failing: FailingFixture;
let auth: AuthFixture;

beforeAll(async () => {
  failing = await startFixture("failing");
  failing.setMode("ok");
  auth = await startFixture("auth", { token: "first-token" });
});
beforeEach(() => {
  pool = new McpConnectionPool({
    fetch: guard.fetch,
    timeoutMs: 5_000,
    idleMs: 200,
    logger: createLogger("test", "silent"),
  });
});
afterEach(() => pool.close());
afterAll(async () => {
  await failing.close();
  await auth.close();
  await guard.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("the chat connection pool", () => {
  it("shares one connection between holders of the same server, address and credentials", async () => {
    const target = { url: failing.url, transport: "streamable_http" as const, headers: {} };
    const a = await pool.acquire("s1", target, () => undefined);
    const b = await pool.acquire("s1", target, () => undefined);
    expect(b.connection).toBe(a.connection);
    const other = await pool.acquire("s2", target, () => undefined);
    expect(other.connection).not.toBe(a.connection);
    for (const lease of [a, b, other]) lease.release();
  });

  it("drops a connection whose transport fails, tells its holders, and opens a new one on the next acquire", async () => {
    const target = { url: failing.url, transport: "streamable_http" as const, headers: {} };
    const failures: unknown[] = [];
    const first = await pool.acquire("s1", target, (error) => failures.push(error));
    await first.connection.client.ping();
    failing.setMode("reset");
    await expect(first.connection.client.ping()).rejects.toThrow();
    expect(failures.length).toBeGreaterThan(0);
    first.release();
    failing.setMode("ok");
    const second = await pool.acquire("s1", target, () => undefined);
    expect(second.connection).not.toBe(first.connection);
    await expect(second.connection.client.ping()).resolves.toBeDefined();
    second.release();
  });

  it("opens a new connection when the server's credentials change, and the old one keeps its own", async () => {
    const before = { url: auth.url, transport: "streamable_http" as const, headers: bearer("first-token") };
    const old = await pool.acquire("s1", before, () => undefined);
    await old.connection.client.ping();
    auth.setToken("second-token");
    const after = { ...before, headers: bearer("second-token") };
    const fresh = await pool.acquire("s1", after, () => undefined);
    expect(fresh.connection).not.toBe(old.connection);
    await expect(fresh.connection.client.ping()).resolves.toBeDefined();
    // The server refuses the old credentials: they were never swapped into the old connection.
    await expect(old.connection.client.ping()).rejects.toThrow();
    old.release();
    fresh.release();
  });

  it("closes a connection nobody holds after the idle time, and a later acquire opens another", async () => {
    const target = { url: failing.url, transport: "streamable_http" as const, headers: {} };
    const lease = await pool.acquire("idle", target, () => undefined);
    const connection = lease.connection;
    lease.release();
    const held = await pool.acquire("idle", target, () => undefined);
    expect(held.connection).toBe(connection); // within the idle time: reused
    held.release();
    // Nobody holds it now: after the idle time (200 ms) it is closed and forgotten.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const next = await pool.acquire("idle", target, () => undefined);
    expect(next.connection).not.toBe(connection);
    await expect(next.connection.client.ping()).resolves.toBeDefined();
    next.release();
  });
});
