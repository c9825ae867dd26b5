import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  createKeyRing,
  createLogger,
  createPrisma,
  InternalTokenVerifier,
  issueAccessToken,
} from "@sprintconnect/core";
import { createGatewayApp, MAX_OPERATION_NAMES, ROUTES } from "@sprintconnect/gateway";
import { buildMetricsSchema } from "@sprintconnect/metrics-subgraph";
import { createSubgraphApp } from "@sprintconnect/subgraph-kit";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

let stack: Stack;
let org: TestOrg;

const METRICS_TOKEN = randomBytes(24).toString("base64url");
const operator = { authorization: `Bearer ${METRICS_TOKEN}` };

beforeAll(async () => {
  stack = await startStack({ METRICS_TOKEN });
  org = await createTestOrg(stack, "Gateway");
});
afterAll(() => stack.close());

describe("health, readiness, metrics and keys", () => {
  it("answers /health without credentials", async () => {
    const res = await request(stack.url, "GET", "/health");
    expect(res).toMatchObject({ status: 200, body: { status: "ok" } });
  });

  it("reports PostgreSQL, Redis and every subgraph's own database and Redis on /health/detailed", async () => {
    const res = await request(stack.url, "GET", "/health/detailed", { headers: operator });
    expect(res.status).toBe(200);
    expect(res.body.checks.postgres.status).toBe("ok");
    expect(res.body.checks.redis.status).toBe("ok");
    expect(Object.keys(res.body.checks.subgraphs).sort()).toEqual(["admin", "chat", "metrics", "registry"]);
    for (const check of Object.values(res.body.checks.subgraphs) as Array<Record<string, any>>) {
      expect(check).toMatchObject({ status: "ok", checks: { postgres: { status: "ok" }, redis: { status: "ok" } } });
    }
  });

  it("is ready when its dependencies are, and says no more than that to anyone", async () => {
    const res = await request(stack.url, "GET", "/ready");
    expect(res.body).toEqual({ status: "ready", checks: { postgres: { status: "ok" }, redis: { status: "ok" } } });
  });

  it("refuses /metrics and /health/detailed without the metrics token, or with a wrong one", async () => {
    for (const path of ["/metrics", "/health/detailed"]) {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: `Bearer ${METRICS_TOKEN}x` },
        { authorization: `Bearer ${org.ownerKey}` },
      ]) {
        const res = await request(stack.url, "GET", path, { headers });
        expect([path, res.status, res.body.error?.code]).toEqual([path, 401, "UNAUTHENTICATED"]);
      }
    }
  });

  it("serves Prometheus metrics with latency histograms by route and by operation", async () => {
    await request(stack.url, "GET", "/v1/mcp/servers", { auth: org.ownerKey });
    await graphql(stack.url, org.ownerKey, "query CountServers { mcpServers { nextCursor } }");
    const res = await fetch(`${stack.url}/metrics`, { headers: operator });
    const text = await res.text();
    expect(res.headers.get("content-type")).toMatch(/text\/plain/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/v1\/mcp\/servers"[^}]*status="200"/);
    expect(text).toMatch(/graphql_operation_duration_seconds_bucket\{[^}]*operation="CountServers"/);
    expect(text).toMatch(/graphql_operation_duration_seconds_count\{[^}]*operation="ListMcpServers"/);
  });

  it("keeps operation-name label values bounded however many names clients send", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `Fuzz${i}_${randomBytes(3).toString("hex")}`);
    names.push(`Long${"x".repeat(200)}`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(
        names.slice(i, i + 25).map((name) => graphql(stack.url, org.ownerKey, `query ${name} { __typename }`)),
      );
    }
    const text = await (await fetch(`${stack.url}/metrics`, { headers: operator })).text();
    const labels = new Set(
      [...text.matchAll(/graphql_operation_duration_seconds_count\{[^}]*operation="([^"]*)"/g)].map((m) => m[1]),
    );
    // The REST routes' operations, at most 50 others, "anonymous" and "other".
    expect(labels.size).toBeLessThanOrEqual(ROUTES.length + MAX_OPERATION_NAMES + 2);
    expect(labels.has("other")).toBe(true);
    expect([...labels].every((l) => /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(l as string))).toBe(true);
  });

  it("reports a subgraph whose database is unreachable as not ready on /health/detailed", async () => {
    const deadDb = createPrisma({
      DATABASE_URL: "postgresql://postgres@127.0.0.1:1/nowhere",
      DATABASE_POOL_SIZE: 1,
      DATABASE_MAX_OVERFLOW: 0,
    });
    const metrics = await createSubgraphApp({
      name: "metrics",
      schema: await buildMetricsSchema(deadDb),
      verifier: new InternalTokenVerifier(stack.keys),
      logger: createLogger("test", "silent"),
      production: false,
      readiness: { postgres: () => deadDb.$queryRaw`SELECT 1`, redis: () => stack.redis.ping() },
    });
    await metrics.listen({ port: 0, host: "127.0.0.1" });
    const metricsUrl = `http://127.0.0.1:${(metrics.server.address() as AddressInfo).port}/graphql`;
    const gateway = await createGatewayApp({
      env: { ...stack.env, METRICS_SUBGRAPH_URL: metricsUrl },
      db: stack.db,
      redis: stack.redis,
      keys: stack.keys,
      apiKeyPepper: stack.apiKeyPepper,
      logger: createLogger("test", "silent"),
    });
    await gateway.listen({ port: 0, host: "127.0.0.1" });
    try {
      const gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
      const res = await request(gatewayUrl, "GET", "/health/detailed", { headers: operator });
      expect(res.status).toBe(503);
      const body = res.body;
      expect(body.status).toBe("degraded");
      expect(body.checks.subgraphs.metrics).toMatchObject({
        status: "down",
        checks: { postgres: { status: "down" }, redis: { status: "ok" } },
      });
      expect(body.checks.subgraphs.registry.status).toBe("ok");
    } finally {
      await gateway.close();
      await metrics.close();
      await deadDb.$disconnect();
    }
  });

  it("publishes the public signing key at /.well-known/jwks.json, never the private part", async () => {
    const res = await request(stack.url, "GET", "/.well-known/jwks.json");
    expect(res.status).toBe(200);
    expect(res.body.keys).toHaveLength(1);
    expect(res.body.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", kid: stack.keys.kid });
    expect(res.body.keys[0].d).toBeUndefined();
  });

  it("serves an OpenAPI 3.1 document covering every REST route", async () => {
    const res = await request(stack.url, "GET", "/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        "/v1/mcp/servers",
        "/v1/mcp/servers/{id}",
        "/v1/mcp/servers/{serverId}/capabilities",
        "/v1/mcp/capabilities/{id}",
        "/v1/mcp/servers/{id}/health",
        "/auth/me",
        "/auth/api-keys",
        "/auth/api-keys/{key_id}",
        "/v1/chat/sessions/{id}/export",
      ]),
    );
    const exported = res.body.paths["/v1/chat/sessions/{id}/export"].get;
    const exportSchema = exported.responses["200"].content["application/json"].schema;
    expect(exportSchema.properties.session.properties).toHaveProperty("serverIds");
    expect(exportSchema.properties.messages.items.properties).toHaveProperty("toolCalls");
    expect(exported.responses["200"].content).toHaveProperty("text/csv");
    const register = res.body.paths["/v1/mcp/servers"].post;
    expect(register.requestBody.content["application/json"].schema.required).toEqual(
      expect.arrayContaining(["name", "baseUrl"]),
    );
    expect(register.responses["201"].content["application/json"].schema.properties.transport.enum).toEqual(
      expect.arrayContaining(["streamable_http", "sse"]),
    );
  });

  it("echoes a caller's request id and generates one otherwise", async () => {
    const given = await request(stack.url, "GET", "/health", { headers: { "x-request-id": "trace-123" } });
    expect(given.headers.get("x-request-id")).toBe("trace-123");
    const generated = await request(stack.url, "GET", "/health");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves Apollo Sandbox at /graphql outside production", async () => {
    const res = await fetch(`${stack.url}/graphql`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/sandbox/i);
  });
});

describe("authentication", () => {
  it("accepts our ES256 access tokens and reads the role from the membership", async () => {
    const token = await org.token(org.ownerId);
    const res = await request(stack.url, "GET", "/auth/me", { auth: token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ role: "owner", authMethod: "jwt", user: { id: org.ownerId }, apiKey: null });
    expect(res.body.scopes).toContain("org:manage");
  });

  it("refuses a token signed by another key, an expired token and a garbage token", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const foreignKeys = await createKeyRing(privateKey.export({ format: "jwk" }) as Record<string, unknown>);
    const forged = await issueAccessToken(
      foreignKeys,
      { userId: org.ownerId, organizationId: org.organizationId },
      { issuer: stack.env.JWT_ISSUER, ttlSeconds: 60 },
    );
    const expired = await issueAccessToken(
      stack.keys,
      { userId: org.ownerId, organizationId: org.organizationId },
      { issuer: stack.env.JWT_ISSUER, ttlSeconds: -10 },
    );
    for (const auth of [forged.token, expired.token, "garbage", "sc_nope"]) {
      const res = await request(stack.url, "GET", "/auth/me", { auth });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
    }
    const basic = await request(stack.url, "GET", "/auth/me", { headers: { authorization: "Basic abc" } });
    expect(basic.status).toBe(401);
  });

  it("refuses a token for an organization the user is not a member of", async () => {
    const elsewhere = await createTestOrg(stack, "Elsewhere");
    const token = await issueAccessToken(
      stack.keys,
      { userId: org.ownerId, organizationId: elsewhere.organizationId },
      { issuer: stack.env.JWT_ISSUER, ttlSeconds: 60 },
    );
    expect((await request(stack.url, "GET", "/auth/me", { auth: token.token })).status).toBe(401);
  });

  it("creates an API key shown once, stores only its hash, and keeps lastUsedAt", async () => {
    const created = await request(stack.url, "POST", "/auth/api-keys", {
      auth: org.ownerKey,
      body: { name: "deploy bot", scopes: ["servers:read"] },
    });
    expect(created.status).toBe(201);
    const { key, apiKey } = created.body;
    expect(key).toMatch(/^sc_/);
    expect(apiKey).toMatchObject({ name: "deploy bot", scopes: ["servers:read"], revokedAt: null, lastUsedAt: null });
    const row = await stack.db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(JSON.stringify(row)).not.toContain(key);
    expect(key.startsWith(row.prefix)).toBe(true);

    const me = await request(stack.url, "GET", "/auth/me", { auth: key });
    expect(me.body).toMatchObject({ authMethod: "api_key", scopes: ["servers:read"], apiKey: { id: apiKey.id } });
    // lastUsedAt is bookkeeping written beside the request, not before its answer.
    await waitFor("lastUsedAt", async () =>
      (await stack.db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).lastUsedAt ? true : undefined,
    );
    const listed = await graphql(stack.url, org.ownerKey, "{ apiKeys { items { id prefix } } }");
    expect(JSON.stringify(listed.body)).not.toContain(key);
  });

  it("stops accepting a key at once when it is revoked", async () => {
    const created = (
      await request(stack.url, "POST", "/auth/api-keys", { auth: org.ownerKey, body: { name: "short-lived" } })
    ).body;
    expect((await request(stack.url, "GET", "/auth/me", { auth: created.key })).status).toBe(200);
    const revoked = await request(stack.url, "DELETE", `/auth/api-keys/${created.apiKey.id}`, { auth: org.ownerKey });
    expect(revoked.status).toBe(204);
    const after = await request(stack.url, "GET", "/auth/me", { auth: created.key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("refuses an expired key", async () => {
    const created = (
      await request(stack.url, "POST", "/auth/api-keys", {
        auth: org.ownerKey,
        body: { name: "expiring", expiresAt: new Date(Date.now() + 60_000).toISOString() },
      })
    ).body;
    await stack.db.apiKey.update({
      where: { id: created.apiKey.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await request(stack.url, "GET", "/auth/me", { auth: created.key })).status).toBe(401);
  });

  it("lets a subgraph trust only the gateway's internal token, not a plain header", async () => {
    // Straight to a subgraph with a forged principal header: no principal, so UNAUTHENTICATED.
    const subgraph = stack.env.REGISTRY_SUBGRAPH_URL;
    const res = await fetch(subgraph, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sprintconnect-internal-token": "forged" },
      body: JSON.stringify({ query: "{ mcpServers { nextCursor } }" }),
    });
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });
});

describe("in production", () => {
  let prod: Stack;
  beforeAll(async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    prod = await startStack({
      APP_ENV: "production",
      JWT_SECRET_KEY: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
      API_KEY_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
      SECRET_STORE_LOCAL_KEY: randomBytes(32).toString("base64"),
    });
  });
  afterAll(() => prod.close());

  it("serves no Sandbox and refuses introspection", async () => {
    const org = await createTestOrg(prod, "Production");
    const page = await fetch(`${prod.url}/graphql`, { headers: { accept: "text/html" } });
    expect(await page.text()).not.toMatch(/sandbox/i);
    const introspection = await graphql(prod.url, org.ownerKey, "{ __schema { types { name } } }");
    expect(introspection.status).toBe(400);
    expect(introspection.body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    // Ordinary operations work.
    const servers = await graphql(prod.url, org.ownerKey, "{ mcpServers { nextCursor } }");
    expect(servers.body.errors).toBeUndefined();
  });
});
