import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { AppError, ErrorCode } from "@sprintconnect/core";
import { type FixtureHandle, startFixture } from "../../../../test/fixtures/mcp";
import { EgressGuard } from "./egress-guard";
import { parseEgressPolicy } from "./egress-policy";

describe("egress guard as the MCP SDK's fetch", () => {
  const fixtures: FixtureHandle[] = [];
  const clients: Client[] = [];
  const guard = new EgressGuard(parseEgressPolicy(["127.0.0.1"]), { maxResponseBytes: 256 * 1024 });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(fixtures.splice(0).map((f) => f.close()));
  });
  afterAll(() => guard.close());

  it("lists the tools of a Streamable HTTP server", async () => {
    const fixture = await startFixture("rich", { tools: 3, pageSize: 10 });
    fixtures.push(fixture);
    const client = new Client({ name: "egress-test", version: "0.0.0" });
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(fixture.url), { fetch: guard.fetch }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["tool_000", "tool_001", "tool_002"]);
  });

  it("lists the tools of a server that only speaks the older SSE transport", async () => {
    const fixture = await startFixture("sse");
    fixtures.push(fixture);
    const client = new Client({ name: "egress-test", version: "0.0.0" });
    clients.push(client);
    await client.connect(new SSEClientTransport(new URL(fixture.url), { fetch: guard.fetch }));
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(0);
  });

  it("refuses to connect to a server the policy does not admit", async () => {
    const fixture = await startFixture("rich");
    fixtures.push(fixture);
    const strict = new EgressGuard(parseEgressPolicy(["*"]));
    const client = new Client({ name: "egress-test", version: "0.0.0" });
    const error = await client
      .connect(new StreamableHTTPClientTransport(new URL(fixture.url), { fetch: strict.fetch }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await strict.close();
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(ErrorCode.EGRESS_DENIED);
    expect(fixture.requests).toBe(0);
  });
});
