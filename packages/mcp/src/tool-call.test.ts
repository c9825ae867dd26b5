import { startFixture } from "../../../test/fixtures/mcp";
import { EgressGuard, parseEgressPolicy } from "./egress";
import { callTool } from "./tool-call";

describe("callTool", () => {
  const guard = new EgressGuard(parseEgressPolicy(["127.0.0.1"]));
  afterAll(() => guard.close());

  it("calls a tool through the egress guard and returns its content", async () => {
    const fixture = await startFixture("rich", { tools: 3 });
    try {
      const result = await callTool(
        { url: fixture.url, transport: "streamable_http" },
        { name: "tool_001", arguments: { text: "hi" } },
        { fetch: guard.fetch, timeoutMs: 5_000 },
      );
      expect(result.isError).toBe(false);
      const text = (result.content[0] as { type: string; text: string }).text;
      expect(JSON.parse(text)).toEqual({ tool: "tool_001", arguments: { text: "hi" } });
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    } finally {
      await fixture.close();
    }
  });

  it("sends the server's credentials and fails without them", async () => {
    const fixture = await startFixture("auth", { token: "t0ken" });
    try {
      const target = { url: fixture.url, transport: "streamable_http" as const };
      const ok = await callTool(
        { ...target, headers: { authorization: "Bearer t0ken" } },
        { name: "tool_000", arguments: {} },
        { fetch: guard.fetch, timeoutMs: 5_000 },
      );
      expect(ok.isError).toBe(false);
      await expect(
        callTool(target, { name: "tool_000", arguments: {} }, { fetch: guard.fetch, timeoutMs: 5_000 }),
      ).rejects.toMatchObject({ code: 401 });
    } finally {
      await fixture.close();
    }
  });

  it("is refused by the egress guard for an address the policy does not name", async () => {
    await expect(
      callTool(
        { url: "http://10.1.2.3/mcp", transport: "streamable_http" },
        { name: "x", arguments: {} },
        { fetch: guard.fetch, timeoutMs: 2_000 },
      ),
    ).rejects.toMatchObject({ extensions: { code: "EGRESS_DENIED" } });
  });
});
