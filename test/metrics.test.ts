import { graphql } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

let stack: Stack;
let org: TestOrg;

beforeAll(async () => {
  stack = await startStack();
  org = await createTestOrg(stack, "Metered");
});
afterAll(() => stack.close());

const QUERY = `query($from: DateTimeISO, $to: DateTimeISO, $kind: String, $limit: Int, $cursor: String) {
  usageEvents(from: $from, to: $to, kind: $kind, limit: $limit, cursor: $cursor) {
    items { id kind quantity inputTokens outputTokens costUsd success occurredAt }
    nextCursor
  }
}`;

describe("usage events", () => {
  it("lists the organization's usage newest first, filtered and paged, with exact decimal costs", async () => {
    const other = await createTestOrg(stack, "Not metered here");
    const base = Date.UTC(2026, 0, 1);
    await stack.db.usageEvent.createMany({
      data: [
        ...Array.from({ length: 5 }, (_, i) => ({
          organizationId: org.organizationId,
          kind: i % 2 ? "tool_call" : "llm_tokens",
          inputTokens: 100 * i,
          outputTokens: 10 * i,
          costUsd: "0.00000123",
          occurredAt: new Date(base + i * 60_000),
        })),
        { organizationId: other.organizationId, kind: "tool_call", occurredAt: new Date(base) },
      ],
    });
    const all = await graphql(stack.url, org.ownerKey, QUERY, { limit: 2 });
    expect(all.body.errors).toBeUndefined();
    const first = all.body.data.usageEvents;
    expect(first.items).toHaveLength(2);
    expect(first.items[0]).toMatchObject({ kind: "llm_tokens", inputTokens: 400, costUsd: "0.00000123" });
    const seen = [...first.items];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await graphql(stack.url, org.ownerKey, QUERY, { limit: 2, cursor });
      seen.push(...page.body.data.usageEvents.items);
      cursor = page.body.data.usageEvents.nextCursor;
    }
    expect(seen).toHaveLength(5);
    expect(seen.map((e) => Date.parse(e.occurredAt))).toEqual(
      [...seen.map((e) => Date.parse(e.occurredAt))].sort((a, b) => b - a),
    );

    const tools = await graphql(stack.url, org.ownerKey, QUERY, { kind: "tool_call" });
    expect(tools.body.data.usageEvents.items).toHaveLength(2);
    const window = await graphql(stack.url, org.ownerKey, QUERY, {
      from: new Date(base + 60_000).toISOString(),
      to: new Date(base + 3 * 60_000).toISOString(),
    });
    expect(window.body.data.usageEvents.items.map((e: { inputTokens: number }) => e.inputTokens)).toEqual([200, 100]);
    const backwards = await graphql(stack.url, org.ownerKey, QUERY, {
      from: new Date(base + 60_000).toISOString(),
      to: new Date(base).toISOString(),
    });
    expect(backwards.body.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
  });
});
