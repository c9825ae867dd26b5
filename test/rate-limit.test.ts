import { request } from "./support/http";
import { createTestOrg, type Stack, startStack } from "./support/stack";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    RATE_LIMIT_REQUESTS_PER_MINUTE: "3",
    RATE_LIMIT_BURST_SIZE: "0",
    RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "5",
    QUOTA_REQUESTS_PER_DAY: "1000",
  });
});
afterAll(() => stack.close());

describe("rate limits", () => {
  it("answers 429 RATE_LIMITED with Retry-After once a key has used its requests for the minute", async () => {
    const org = await createTestOrg(stack, "Limited key");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await request(stack.url, "GET", "/v1/mcp/servers", { auth: org.ownerKey })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await request(stack.url, "GET", "/v1/mcp/servers", { auth: org.ownerKey });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another key of the same organization still has its own allowance.
    const dev = await org.member("developer");
    expect((await request(stack.url, "GET", "/v1/mcp/servers", { auth: dev.apiKey })).status).toBe(200);
  });

  it("answers 429 for the whole organization once its keys together reach the organization's limit", async () => {
    const org = await createTestOrg(stack, "Limited org");
    const a = await org.member("developer");
    const b = await org.member("viewer");
    const c = await org.member("viewer");
    const results: number[] = [];
    for (const key of [a.apiKey, a.apiKey, a.apiKey, b.apiKey, b.apiKey]) {
      results.push((await request(stack.url, "GET", "/v1/mcp/servers", { auth: key })).status);
    }
    expect(results).toEqual([200, 200, 200, 200, 200]);
    // c has not used any of its own allowance, but the organization has used all of its.
    const res = await request(stack.url, "GET", "/v1/mcp/servers", { auth: c.apiKey });
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe("RATE_LIMITED");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // A different organization is not affected.
    const elsewhere = await createTestOrg(stack, "Unaffected");
    expect((await request(stack.url, "GET", "/v1/mcp/servers", { auth: elsewhere.ownerKey })).status).toBe(200);
  });

  it("limits GraphQL requests too, answering in the GraphQL error shape", async () => {
    const org = await createTestOrg(stack, "Limited graphql");
    let last = 0;
    let body: any;
    for (let i = 0; i < 4; i++) {
      const res = await request(stack.url, "POST", "/graphql", {
        auth: org.ownerKey,
        body: { query: "{ mcpServers { nextCursor } }" },
      });
      last = res.status;
      body = res.body;
    }
    expect(last).toBe(429);
    expect(body.errors[0].extensions.code).toBe("RATE_LIMITED");
  });

  it("keeps health endpoints out of the limits", async () => {
    for (let i = 0; i < 6; i++) expect((await request(stack.url, "GET", "/health")).status).toBe(200);
  });
});

describe("the daily quota", () => {
  let quotaStack: Stack;
  beforeAll(async () => {
    quotaStack = await startStack({ QUOTA_REQUESTS_PER_DAY: "2" });
  });
  afterAll(() => quotaStack.close());

  it("answers 429 QUOTA_EXCEEDED once the organization's daily quota is used", async () => {
    const org = await createTestOrg(quotaStack, "Quota");
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await request(quotaStack.url, "GET", "/auth/me", { auth: org.ownerKey })).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const res = await request(quotaStack.url, "GET", "/auth/me", { auth: org.ownerKey });
    expect(res.body.error.code).toBe("QUOTA_EXCEEDED");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
