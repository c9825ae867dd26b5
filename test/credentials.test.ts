import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serverCredentialRef } from "@sprintconnect/core";
import { healthCheckJob } from "@sprintconnect/jobs";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { withFailingAudit } from "./support/own-services";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

let stack: Stack;
let org: TestOrg;
let developerKey: string;
const fixtures: FixtureHandle[] = [];
const sinks: Server[] = [];

/**
 * A plain HTTP server on another loopback port (another origin) that records the headers of
 * every request and answers 404: where a secret must never arrive.
 */
async function startSink(): Promise<{ origin: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(404, { "content-type": "text/plain" }).end("nothing here");
  });
  sinks.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A server on its own origin that redirects every request (307, method and body kept) to `to`. */
async function startRedirector(to: string): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(307, { location: `${to}${req.url ?? "/"}` }).end();
  });
  sinks.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  stack = await startStack({}, { worker: true });
  org = await createTestOrg(stack, "Credentials");
  developerKey = (await org.member("developer")).apiKey;
});
afterAll(async () => {
  await stack.close();
  await Promise.all(fixtures.map((f) => f.close()));
  for (const sink of sinks) {
    sink.closeAllConnections();
    sink.close();
  }
});

async function register(body: Record<string, unknown>): Promise<string> {
  const res = await request(stack.url, "POST", "/v1/mcp/servers", { auth: org.ownerKey, body });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function settled(serverId: string): Promise<any> {
  return waitFor(`discovery of ${serverId}`, async () => {
    const res = await request(stack.url, "GET", `/v1/mcp/servers/${serverId}`, { auth: org.ownerKey });
    return ["succeeded", "failed"].includes(res.body.discovery.status) ? res.body : undefined;
  });
}

/** Runs a discovery through the queue and returns its finished run. */
async function discovered(serverId: string) {
  const res = await request(stack.url, "POST", `/v1/mcp/servers/${serverId}/discover`, { auth: org.ownerKey });
  expect(res.status).toBe(202);
  return waitFor("the run", async () => {
    const run = await stack.db.discoveryRun.findUnique({ where: { id: res.body.jobId } });
    return run?.status === "succeeded" || run?.status === "failed" ? run : undefined;
  });
}

async function lastAudit(serverId: string) {
  return stack.db.auditLog.findFirstOrThrow({
    where: { organizationId: org.organizationId, targetId: serverId, action: "server.updated" },
    orderBy: { seq: "desc" },
  });
}

describe("credentials are bound to the origin they were stored for", () => {
  it("drops a server's credentials when a developer moves it to another origin, says so, and never sends them there", async () => {
    const auth = await startFixture("auth", { token: "owner-s3cret-token" });
    fixtures.push(auth);
    const id = await register({
      name: "moved-away",
      baseUrl: auth.url,
      credentials: { bearerToken: "owner-s3cret-token" },
    });
    expect((await settled(id)).discovery.status).toBe("succeeded");
    const sink = await startSink();

    const res = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
      auth: developerKey,
      body: { baseUrl: `${sink.origin}/mcp` },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ credentials: null, credentialsDropped: true });
    expect((await lastAudit(id)).data).toMatchObject({
      credentials: "dropped",
      credentialsDropped: true,
      credentialsOrigin: new URL(auth.url).origin,
    });
    expect(await stack.db.mcpCredential.count({ where: { serverId: id } })).toBe(0);
    expect(await stack.db.secretValue.count({ where: { ref: serverCredentialRef(id) } })).toBe(0);

    // The worker looks at the new address: it connects, without the old owner's secret.
    await settled(id);
    await waitFor("a request at the new address", async () => sink.seen.length > 0);
    expect(JSON.stringify(sink.seen)).not.toContain("owner-s3cret-token");
    expect(sink.seen.every((h) => h.authorization === undefined)).toBe(true);
  });

  it("refuses to move a server to another origin with keepCredentials: true, with 422 CREDENTIALS_REQUIRED, and changes nothing", async () => {
    const id = await register({
      name: "kept",
      baseUrl: "http://kept.example.com/mcp",
      credentials: { headers: { "X-Api-Key": "kept-secret" } },
    });
    const before = await stack.db.mcpCredential.findFirstOrThrow({ where: { serverId: id } });
    const res = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
      auth: developerKey,
      body: { baseUrl: "https://kept.example.com/mcp", keepCredentials: true },
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "CREDENTIALS_REQUIRED", details: { field: "credentials" } });
    expect(JSON.stringify(res.body)).not.toContain("kept-secret");
    const row = await stack.db.mcpServer.findUniqueOrThrow({ where: { id }, include: { credentials: true } });
    expect(row.baseUrl).toBe("http://kept.example.com/mcp");
    expect(row.credentials).toEqual([before]);
  });

  it("keeps credentials when the URL changes within the same origin, and rebinds new ones given with a new origin", async () => {
    const id = await register({
      name: "same-origin",
      baseUrl: "http://same.example.com/mcp",
      credentials: { bearerToken: "same-secret" },
    });
    const samePlace = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
      auth: developerKey,
      body: { baseUrl: "http://same.example.com/v2/mcp", keepCredentials: true },
    });
    expect(samePlace.status).toBe(200);
    expect(samePlace.body).toMatchObject({
      credentialsDropped: false,
      credentials: { kind: "bearer", origin: "http://same.example.com" },
    });
    const moved = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
      auth: developerKey,
      body: { baseUrl: "http://other.example.com:8080/mcp", credentials: { bearerToken: "new-secret" } },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      credentialsDropped: false,
      credentials: { kind: "bearer", origin: "http://other.example.com:8080" },
    });
  });

  it("refuses in the worker to send credentials stored for another origin, and says why", async () => {
    const auth = await startFixture("auth", { token: "pinned-secret" });
    fixtures.push(auth);
    const id = await register({
      name: "behind-the-back",
      baseUrl: auth.url,
      credentials: { bearerToken: "pinned-secret" },
    });
    expect((await settled(id)).discovery.status).toBe("succeeded");
    const sink = await startSink();
    // Behind the API's back (a bug, a restored backup, a hand-edited row), the URL moves.
    await stack.db.mcpServer.update({ where: { id }, data: { baseUrl: `${sink.origin}/mcp` } });

    const run = await discovered(id);
    expect(run.status).toBe("failed");
    expect(run.error).toContain(new URL(auth.url).origin);
    expect(run.attempts).toBe(1);

    await stack.queues.enqueue(
      healthCheckJob,
      { serverId: id, organizationId: org.organizationId },
      { jobId: randomUUID() },
    );
    const check = await waitFor("the health check", async () =>
      stack.db.healthCheck
        .findFirst({ where: { serverId: id }, orderBy: { checkedAt: "desc" } })
        .then((c) => c ?? undefined),
    );
    expect(check).toMatchObject({ result: "auth_required" });
    expect(check.error).toContain(new URL(auth.url).origin);
    // Neither job connected to the new address at all.
    expect(sink.seen).toHaveLength(0);
  });

  it("sends custom credential headers to no other origin when the server redirects there", async () => {
    const sink = await startSink();
    const redirector = await startRedirector(sink.origin);
    const id = await register({
      name: "redirected",
      baseUrl: `${redirector}/mcp`,
      credentials: { headers: { "X-Api-Key": "header-s3cret", Authorization: "Bearer auth-s3cret" } },
    });
    // The SDK follows redirects within the origin only, and the egress guard drops every
    // credential header on a hop that leaves it (egress-guard.fetch.test.ts): either way the
    // other origin never sees them.
    expect((await settled(id)).discovery.status).toBe("failed");
    expect(JSON.stringify(sink.seen)).not.toMatch(/s3cret/);
  });
});

describe("credentials and their secrets are written together", () => {
  it("fails a discovery and a health check loudly when a credential's secret is missing, instead of connecting without it", async () => {
    const auth = await startFixture("auth", { token: "vanishing-secret" });
    fixtures.push(auth);
    const id = await register({
      name: "vanished",
      baseUrl: auth.url,
      credentials: { bearerToken: "vanishing-secret" },
    });
    expect((await settled(id)).discovery.status).toBe("succeeded");
    const requestsBefore = auth.requests;
    await stack.db.secretValue.deleteMany({ where: { ref: serverCredentialRef(id) } });

    const run = await discovered(id);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/missing their secret/);
    await stack.queues.enqueue(
      healthCheckJob,
      { serverId: id, organizationId: org.organizationId },
      { jobId: randomUUID() },
    );
    const check = await waitFor("the health check", async () =>
      stack.db.healthCheck
        .findFirst({ where: { serverId: id }, orderBy: { checkedAt: "desc" } })
        .then((c) => c ?? undefined),
    );
    expect(check).toMatchObject({ result: "auth_required", error: expect.stringMatching(/missing their secret/) });
    expect(auth.requests).toBe(requestsBefore);
  });

  it("leaves neither the credential row nor its secret when the transaction that stores them rolls back", async () => {
    const id = await register({ name: "rolled-back", baseUrl: "http://rollback.example.com/mcp" });
    // The audit entry is written after the credential row and the secret, in the same transaction.
    await withFailingAudit(org.organizationId, async () => {
      const res = await request(stack.url, "PATCH", `/v1/mcp/servers/${id}`, {
        auth: org.ownerKey,
        body: { credentials: { bearerToken: "never-stored" } },
      });
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain("never-stored");
    });
    expect(await stack.db.mcpCredential.count({ where: { serverId: id } })).toBe(0);
    expect(await stack.db.secretValue.count({ where: { ref: serverCredentialRef(id) } })).toBe(0);
  });
});
