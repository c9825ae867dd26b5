import { randomUUID } from "node:crypto";
import { discoveryJob, healthCheckJob } from "@sprintconnect/jobs";
import { type FixtureHandle, type HostileMode, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

/** Everything a hostile server may put in front of us is at most this long once stored. */
const MAX_TEXT = 1000;

const fixtures: FixtureHandle[] = [];

async function hostile(mode: HostileMode): Promise<FixtureHandle> {
  const handle = await startFixture("hostile", { hostile: mode });
  fixtures.push(handle);
  return handle;
}

async function register(stack: Stack, org: TestOrg, name: string, baseUrl: string): Promise<string> {
  const res = await request(stack.url, "POST", "/v1/mcp/servers", { auth: org.ownerKey, body: { name, baseUrl } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Waits until the server's discovery is no longer pending or running; returns the API's view. */
function settled(stack: Stack, org: TestOrg, serverId: string, timeoutMs = 30_000) {
  return waitFor(
    `discovery of ${serverId}`,
    async () => {
      const res = await request(stack.url, "GET", `/v1/mcp/servers/${serverId}`, { auth: org.ownerKey });
      return ["succeeded", "failed"].includes(res.body.discovery.status) ? res.body : undefined;
    },
    timeoutMs,
  );
}

/** The longest string anywhere in a JSON value. */
function longestString(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (Array.isArray(value)) return Math.max(0, ...value.map(longestString));
  if (value && typeof value === "object") {
    return Math.max(0, ...Object.entries(value).map(([k, v]) => Math.max(k.length, longestString(v))));
  }
  return 0;
}

afterAll(async () => {
  // First the servers: jobs still talking to them fail at once rather than at their timeouts.
  await Promise.all(fixtures.map((f) => f.close()));
});

describe("a hostile MCP server", () => {
  let stack: Stack;
  let org: TestOrg;

  beforeAll(async () => {
    stack = await startStack(
      {
        DISCOVERY_MAX_CAPABILITIES: "150",
        DISCOVERY_MAX_BYTES: String(4 * 1024 * 1024),
        DISCOVERY_MAX_SECONDS: "10",
        // Far above the budget: only the budget can end these runs in time.
        DISCOVERY_TIMEOUT_SECONDS: "60",
        HEALTH_CHECK_TIMEOUT_SECONDS: "3",
      },
      { worker: true },
    );
    org = await createTestOrg(stack, "Hostile");
  });
  afterAll(async () => {
    await Promise.all(fixtures.map((f) => f.close()));
    await stack.close();
  });

  /** The stored run, the server row and the discovery.failed event of a failed discovery. */
  async function failure(serverId: string) {
    const run = await stack.db.discoveryRun.findFirstOrThrow({ where: { serverId }, orderBy: { createdAt: "desc" } });
    const server = await stack.db.mcpServer.findUniqueOrThrow({ where: { id: serverId } });
    const event = await stack.db.event.findFirstOrThrow({ where: { aggregateId: serverId, type: "discovery.failed" } });
    return { run, server, event };
  }

  it.each([
    ["endless-pages", "the server lists more than 150 capabilities"],
    ["huge-pages", `the server sent more than ${4 * 1024 * 1024} bytes`],
    ["silent", "the run took longer than 10 s"],
    ["trickle", "the run took longer than 10 s"],
  ] as const)(
    "fails the discovery of a %s server with a clear budget error at the first attempt",
    async (mode, why) => {
      const server = await hostile(mode);
      const started = Date.now();
      const id = await register(stack, org, `hostile ${mode}`, server.url);
      const done = await settled(stack, org, id);
      expect(done.discovery.status).toBe("failed");
      expect(done.discovery.error).toContain(`discovery budget exceeded: ${why}`);
      // Over budget is final: no retry spends the budget again.
      const { run, server: row, event } = await failure(id);
      expect(run).toMatchObject({ status: "failed", attempts: 1 });
      // Well before the 60 s request timeout, and no second attempt.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(row.discoveryError?.length).toBeLessThanOrEqual(MAX_TEXT);
      expect(longestString(event.payload)).toBeLessThanOrEqual(MAX_TEXT);
      expect(await stack.db.mcpCapability.count({ where: { serverId: id } })).toBe(0);
    },
    60_000,
  );

  it("stores at most 1,000 characters of the server's name, title, instructions and capability titles", async () => {
    const server = await hostile("loud");
    const id = await register(stack, org, "hostile loud", server.url);
    const done = await settled(stack, org, id);
    expect(done.discovery.status).toBe("succeeded");
    expect(done.discovery.serverInfo.name).toMatch(/^N+…$/);
    expect(longestString(done.discovery)).toBeLessThanOrEqual(MAX_TEXT);
    const row = await stack.db.mcpServer.findUniqueOrThrow({ where: { id } });
    expect(longestString([row.serverInfo, row.instructions, row.serverCapabilities])).toBeLessThanOrEqual(MAX_TEXT);
    const capability = await stack.db.mcpCapability.findFirstOrThrow({ where: { serverId: id } });
    expect(capability.title?.length).toBeLessThanOrEqual(MAX_TEXT);
    // A description is data an agent needs: kept whole (the definition's size is bounded instead).
    expect(capability.description).toBe("L".repeat(2_000));
  });

  it("keeps a 9 MB error body to 1,000 characters in the health row, the API, the event and the discovery", async () => {
    const server = await hostile("huge-errors");
    const id = await register(stack, org, "hostile errors", server.url);
    expect((await settled(stack, org, id)).discovery.status).toBe("failed");
    await stack.queues.enqueue(
      healthCheckJob,
      { serverId: id, organizationId: org.organizationId },
      { jobId: randomUUID() },
    );
    const check = await waitFor(
      "the health check",
      async () => (await stack.db.healthCheck.findFirst({ where: { serverId: id } })) ?? undefined,
    );
    expect(check.result).toBe("unhealthy");
    expect(check.error).toContain("500");
    expect(check.error?.length).toBeLessThanOrEqual(MAX_TEXT);

    const health = await request(stack.url, "GET", `/v1/mcp/servers/${id}/health`, { auth: org.ownerKey });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("unhealthy");
    expect(longestString(health.body)).toBeLessThanOrEqual(MAX_TEXT);

    const changed = await waitFor(
      "the health event",
      async () =>
        (await stack.db.event.findFirst({ where: { aggregateId: id, type: "server.health_changed" } })) ?? undefined,
    );
    expect(longestString(changed.payload)).toBeLessThanOrEqual(MAX_TEXT);
    const { run, event } = await failure(id);
    expect(run.error?.length).toBeLessThanOrEqual(MAX_TEXT);
    expect(longestString(event.payload)).toBeLessThanOrEqual(MAX_TEXT);
  });
});

describe("discovery queue fairness", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack(
      {
        WORKER_DISCOVERY_CONCURRENCY: "4",
        WORKER_ORG_CONCURRENCY: "2",
        // Never-answering servers hold their slot for the whole minute.
        DISCOVERY_TIMEOUT_SECONDS: "60",
        DISCOVERY_MAX_SECONDS: "120",
      },
      { worker: true },
    );
  });
  afterAll(async () => {
    await Promise.all(fixtures.map((f) => f.close()));
    await stack.close();
  });

  it("discovers another organization's server promptly while one organization's servers never answer, and puts the waiting jobs back without using their retries", async () => {
    const greedy = await createTestOrg(stack, "Greedy");
    const patient = await createTestOrg(stack, "Patient");
    const stuck: string[] = [];
    for (let i = 0; i < 4; i++) stuck.push(await register(stack, greedy, `silent ${i}`, (await hostile("silent")).url));
    const runs = () => stack.db.discoveryRun.findMany({ where: { serverId: { in: stuck } } });
    await waitFor("the greedy organization's discoveries to start", async () =>
      (await runs()).some((r) => r.status === "running"),
    );

    const normal = await startFixture("rich", { tools: 3, resources: 0, resourceTemplates: 0, prompts: 0 });
    fixtures.push(normal);
    const id = await register(stack, patient, "normal", normal.url);
    expect((await settled(stack, patient, id, 20_000)).discovery.status).toBe("succeeded");

    // Still stuck, and never more than the cap of them holding a worker slot.
    const greedyRuns = await runs();
    expect(greedyRuns.every((r) => r.status === "pending" || r.status === "running")).toBe(true);
    expect(greedyRuns.filter((r) => r.status === "running").length).toBeLessThanOrEqual(2);
    expect(greedyRuns.every((r) => r.attempts <= 1)).toBe(true);

    // The jobs over the cap go back to the queue again and again; their retries stay whole.
    // (Read from Redis: the producer's queue object caches the jobs it created.)
    const jobs = `${stack.workerEnv.JOB_QUEUE_PREFIX}:${discoveryJob.name}:jobs`;
    const deferred = await waitFor("a job put back more often than it may be retried", async () => {
      for (const run of await runs()) {
        const stored = run.status === "pending" ? await stack.redis.hget(jobs, run.id) : null;
        const job = stored
          ? (JSON.parse(stored) as { options: { stacktraces: string[] } & Record<string, unknown> })
          : null;
        // Each time it is put back leaves a trace on the job.
        if (job && job.options.stacktraces.length > discoveryJob.retries) return job;
      }
      return undefined;
    });
    expect(deferred.options.retries).toBe(discoveryJob.retries);
    expect(deferred.options.backoff).toMatchObject({ strategy: "exponential" });
  }, 60_000);
});
