import { randomUUID } from "node:crypto";
import { healthCheckJob } from "@sprintconnect/jobs";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

let stack: Stack;
let org: TestOrg;
const fixtures: FixtureHandle[] = [];

beforeAll(async () => {
  stack = await startStack(
    // Margins wide enough that a loaded machine does not blur healthy, degraded and timed out.
    {
      HEALTH_CHECK_FAILURE_THRESHOLD: "3",
      HEALTH_CHECK_DEGRADED_LATENCY_MS: "1500",
      HEALTH_CHECK_TIMEOUT_SECONDS: "3",
    },
    { worker: true },
  );
  org = await createTestOrg(stack, "Health");
});
afterAll(async () => {
  await stack.close();
  await Promise.all(fixtures.map((f) => f.close()));
});

async function register(name: string, url: string, extra: Record<string, unknown> = {}) {
  const res = await request(stack.url, "POST", "/v1/mcp/servers", {
    auth: org.ownerKey,
    body: { name, baseUrl: url, ...extra },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Runs one health check through the queue and the worker, and returns the server's report. */
async function check(serverId: string) {
  const before = await stack.db.healthCheck.count({ where: { serverId } });
  await stack.queues.enqueue(healthCheckJob, { serverId, organizationId: org.organizationId }, { jobId: randomUUID() });
  await waitFor("the check", async () => (await stack.db.healthCheck.count({ where: { serverId } })) > before);
  return (await request(stack.url, "GET", `/v1/mcp/servers/${serverId}/health`, { auth: org.ownerKey })).body;
}

describe("health checks", () => {
  it("moves a server's state only after the threshold of consecutive results, never on one failure", async () => {
    const server = await startFixture("failing", { mode: "http500" });
    fixtures.push(server);
    server.setMode("ok");
    const id = await register("flappy", server.url);
    expect((await check(id)).status).toBe("healthy"); // the first result of an unknown server is taken at once

    server.setMode("http500");
    let report = await check(id);
    expect(report).toMatchObject({ status: "healthy", pendingStatus: "unhealthy", pendingCount: 1 });
    report = await check(id);
    expect(report).toMatchObject({ status: "healthy", pendingStatus: "unhealthy", pendingCount: 2 });

    server.setMode("ok"); // one good answer resets the count
    report = await check(id);
    expect(report).toMatchObject({ status: "healthy", pendingStatus: null, pendingCount: 0 });

    server.setMode("reset");
    await check(id);
    await check(id);
    report = await check(id);
    expect(report.status).toBe("unhealthy");
    expect(report.reason).toEqual(expect.any(String));
    expect(report.history.slice(0, 3).map((h: { result: string }) => h.result)).toEqual([
      "unhealthy",
      "unhealthy",
      "unhealthy",
    ]);
    expect(report.history).toHaveLength(7);

    const events = await stack.db.event.findMany({
      where: { type: "server.health_changed", aggregateId: id },
      orderBy: { createdAt: "asc" },
    });
    expect(events.map((e) => [(e.payload as any).previousStatus, (e.payload as any).status])).toEqual([
      ["unknown", "healthy"],
      ["healthy", "unhealthy"],
    ]);
    expect(events[1]?.payload).toMatchObject({ serverId: id, serverName: "flappy", environment: "development" });

    server.setMode("ok");
    await check(id);
    await check(id);
    expect((await check(id)).status).toBe("healthy");
  });

  it("reports auth_required when the server answers 401", async () => {
    const auth = await startFixture("auth", { token: "right" });
    fixtures.push(auth);
    const id = await register("locked", auth.url, { credentials: { bearerToken: "right" } });
    expect((await check(id)).status).toBe("healthy");
    auth.setToken("rotated-by-the-owner");
    await check(id);
    await check(id);
    const report = await check(id);
    expect(report.status).toBe("auth_required");
    expect(report.history[0]).toMatchObject({ result: "auth_required", latencyMs: null });
  });

  it("reports a slow server as degraded and one slower than the timeout as unhealthy", async () => {
    // Connecting takes three requests, each delayed: about 2.4 s in all.
    const slow = await startFixture("slow", { delayMs: 800 });
    fixtures.push(slow);
    const id = await register("sluggish", slow.url);
    const report = await check(id);
    expect(report.status).toBe("degraded");
    expect(report.latencyMs).toBeGreaterThan(1500);

    slow.setDelay(3500);
    const timedOut = await check(id);
    expect(timedOut.history[0]).toMatchObject({ result: "unhealthy", latencyMs: null });
  });

  it("reports a server that initializes but refuses ping as degraded (partial)", async () => {
    const partial = await startFixture("rich", { tools: 1, refusePing: true });
    fixtures.push(partial);
    const id = await register("partial", partial.url);
    const report = await check(id);
    expect(report.status).toBe("degraded");
    expect(report.reason).toMatch(/^partial: ping failed/);
  });

  it("writes the latest report under outputs/<timestamp>/health-reports/", async () => {
    const rich = await startFixture("rich", { tools: 1 });
    fixtures.push(rich);
    const id = await register("reported-health", rich.url);
    await check(id);
    const { readFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    // The report is written after the check is recorded.
    const report = await waitFor("the health report", async () =>
      JSON.parse(await readFile(join(stack.worker!.outputs.runDir, "health-reports", `${id}.json`), "utf8")),
    );
    expect(report).toMatchObject({ serverId: id, result: "healthy", status: "healthy" });
  });
});
