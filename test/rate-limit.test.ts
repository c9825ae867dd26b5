import { randomBytes } from "node:crypto";
import { generateApiKey } from "@sprintconnect/core";
import WebSocket from "ws";
import { freshLoopbackAddress, request } from "./support/http";
import { createTestOrg, type Stack, startGateway, startStack } from "./support/stack";
import { wsUrl } from "./support/ws";

const AUTH_FAILURES_PER_MINUTE = 5;
/** A well-formed API key that exists nowhere. */
const bogusKey = () => generateApiKey(randomBytes(32).toString("hex")).key;

/**
 * The key and organization limits are exercised from an address of their own: the failed
 * authentications of other test files (from 127.0.0.1, into the same Redis) count per address,
 * and this stack's low threshold would otherwise block 127.0.0.1 for the minute.
 */
const HERE = freshLoopbackAddress();

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    RATE_LIMIT_REQUESTS_PER_MINUTE: "3",
    RATE_LIMIT_BURST_SIZE: "0",
    RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "5",
    QUOTA_REQUESTS_PER_DAY: "1000",
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES_PER_MINUTE),
  });
});
afterAll(() => stack.close());

describe("rate limits", () => {
  it("answers 429 RATE_LIMITED with Retry-After once a key has used its requests for the minute", async () => {
    const org = await createTestOrg(stack, "Limited key");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await request(stack.url, "GET", "/v1/mcp/servers", { auth: org.ownerKey, from: HERE })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await request(stack.url, "GET", "/v1/mcp/servers", { auth: org.ownerKey, from: HERE });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another key of the same organization still has its own allowance.
    const dev = await org.member("developer");
    expect((await request(stack.url, "GET", "/v1/mcp/servers", { auth: dev.apiKey, from: HERE })).status).toBe(200);
  });

  it("answers 429 for the whole organization once its keys together reach the organization's limit", async () => {
    const org = await createTestOrg(stack, "Limited org");
    const a = await org.member("developer");
    const b = await org.member("viewer");
    const c = await org.member("viewer");
    const results: number[] = [];
    for (const key of [a.apiKey, a.apiKey, a.apiKey, b.apiKey, b.apiKey]) {
      results.push((await request(stack.url, "GET", "/v1/mcp/servers", { auth: key, from: HERE })).status);
    }
    expect(results).toEqual([200, 200, 200, 200, 200]);
    // c has not used any of its own allowance, but the organization has used all of its.
    const res = await request(stack.url, "GET", "/v1/mcp/servers", { auth: c.apiKey, from: HERE });
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe("RATE_LIMITED");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // A different organization is not affected.
    const elsewhere = await createTestOrg(stack, "Unaffected");
    expect((await request(stack.url, "GET", "/v1/mcp/servers", { auth: elsewhere.ownerKey, from: HERE })).status).toBe(
      200,
    );
  });

  it("limits GraphQL requests too, answering in the GraphQL error shape", async () => {
    const org = await createTestOrg(stack, "Limited graphql");
    let last = 0;
    let body: any;
    for (let i = 0; i < 4; i++) {
      const res = await request(stack.url, "POST", "/graphql", {
        auth: org.ownerKey,
        body: { query: "{ mcpServers { nextCursor } }" },
        from: HERE,
      });
      last = res.status;
      body = res.body;
    }
    expect(last).toBe(429);
    expect(body.errors[0].extensions.code).toBe("RATE_LIMITED");
  });

  it("lets a key use its burst allowance past the per-minute rate, then answers 429 with Retry-After", async () => {
    const bursty = await startGateway(stack, { RATE_LIMIT_BURST_SIZE: "2", RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100" });
    try {
      const org = await createTestOrg(stack, "Bursty key");
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push((await request(bursty.url, "GET", "/auth/me", { auth: org.ownerKey, from: HERE })).status);
      }
      // Three a minute, two more from the burst, then refused.
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const limited = await request(bursty.url, "GET", "/auth/me", { auth: org.ownerKey, from: HERE });
      expect(limited.body.error.code).toBe("RATE_LIMITED");
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    } finally {
      await bursty.app.close();
    }
  });

  it("keeps health endpoints out of the limits", async () => {
    for (let i = 0; i < 6; i++) expect((await request(stack.url, "GET", "/health")).status).toBe(200);
  });
});

describe("failed authentication", () => {
  // Each test connects from its own loopback address: the counters are per client IP.
  it("answers 429 RATE_LIMITED with Retry-After to an address past its failed authentications, whatever key it sends next", async () => {
    const from = freshLoopbackAddress();
    const org = await createTestOrg(stack, "Brute force");
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE + 2; i++) {
      statuses.push((await request(stack.url, "GET", "/auth/me", { auth: bogusKey(), from })).status);
    }
    expect(statuses).toEqual([...Array(AUTH_FAILURES_PER_MINUTE).fill(401), 429, 429]);
    const limited = await request(stack.url, "GET", "/auth/me", { auth: bogusKey(), from });
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Refused before the key is looked up: a valid key from the blocked address is refused too…
    const valid = await request(stack.url, "GET", "/auth/me", { auth: org.ownerKey, from });
    expect({ status: valid.status, code: valid.body.error?.code }).toEqual({ status: 429, code: "RATE_LIMITED" });
    // …and GraphQL answers in its own shape.
    const gql = await request(stack.url, "POST", "/graphql", {
      auth: bogusKey(),
      body: { query: "{ organization { id } }" },
      from,
    });
    expect(gql.status).toBe(429);
    expect(gql.body.errors[0].extensions.code).toBe("RATE_LIMITED");
    // Another address is not affected.
    expect(
      (await request(stack.url, "GET", "/auth/me", { auth: org.ownerKey, from: freshLoopbackAddress() })).status,
    ).toBe(200);
  });

  it("refuses a blocked address's credentials even when the gateway has them cached", async () => {
    const from = freshLoopbackAddress();
    const org = await createTestOrg(stack, "Cached brute force");
    // Cached by a request from another address.
    expect(
      (await request(stack.url, "GET", "/auth/me", { auth: org.ownerKey, from: freshLoopbackAddress() })).status,
    ).toBe(200);
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) {
      expect((await request(stack.url, "GET", "/auth/me", { auth: bogusKey(), from })).status).toBe(401);
    }
    const cached = await request(stack.url, "GET", "/auth/me", { auth: org.ownerKey, from });
    expect({ status: cached.status, code: cached.body.error?.code }).toEqual({ status: 429, code: "RATE_LIMITED" });
    expect(Number(cached.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("counts bad tokens and malformed Authorization headers as failures too, but not requests without credentials", async () => {
    const from = freshLoopbackAddress();
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) {
      const auth = i % 2 === 0 ? "not.a.jwt" : `sc_${i}`;
      expect((await request(stack.url, "GET", "/auth/me", { auth, from })).status).toBe(401);
    }
    expect((await request(stack.url, "GET", "/auth/me", { auth: "not.a.jwt", from })).status).toBe(429);
    // No credentials at all: the anonymous per-IP limit applies, not the block.
    const anonymous = await request(stack.url, "GET", "/auth/me", { from });
    expect(anonymous.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("counts failed graphql-ws connection_init messages and closes a blocked address's connections with 4429", async () => {
    const from = freshLoopbackAddress();
    const org = await createTestOrg(stack, "Brute force ws");
    const closeCode = (auth: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(wsUrl(stack.url), "graphql-transport-ws", { localAddress: from });
        socket.on("open", () =>
          socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${auth}` } })),
        );
        socket.on("message", (data) => {
          socket.close();
          reject(new Error(`unexpected message ${String(data)}`));
        });
        socket.on("close", (code) => resolve(code));
        socket.on("error", reject);
      });
    const codes: number[] = [];
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE + 1; i++) codes.push(await closeCode(bogusKey()));
    expect(codes).toEqual([...Array(AUTH_FAILURES_PER_MINUTE).fill(4401), 4429]);
    expect(await closeCode(org.ownerKey)).toBe(4429);
    // The address is blocked over HTTP too: one counter per address.
    expect((await request(stack.url, "GET", "/auth/me", { auth: org.ownerKey, from })).status).toBe(429);
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
