import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { buildWorker, WorkerProcesses } from "./support/worker-process";

let stack: Stack;
let org: TestOrg;
let slow: FixtureHandle & { setDelay(ms: number): void };
let workers: WorkerProcesses;

beforeAll(async () => {
  buildWorker();
  stack = await startStack();
  workers = new WorkerProcesses(stack);
  org = await createTestOrg(stack, "Crash");
  slow = (await startFixture("slow", { delayMs: 0, tools: 40, pageSize: 5 })) as typeof slow;
}, 180_000);

afterAll(async () => {
  workers.killAll();
  await stack.close();
  await slow.close();
});

describe("a worker killed in the middle of a discovery", () => {
  it("loses no job: after a worker restarts, the job completes and no capability is stored twice", async () => {
    // Each request takes 300 ms; connecting and listing 40 tools over 8 pages takes seconds.
    slow.setDelay(300);
    const server = (
      await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: org.ownerKey,
        body: { name: "interrupted", baseUrl: slow.url },
      })
    ).body;
    const run = await stack.db.discoveryRun.findFirstOrThrow({ where: { serverId: server.id } });

    const first = workers.spawn({ DISCOVERY_TIMEOUT_SECONDS: "20" });
    await waitFor("the first worker to start the job", async () => {
      const r = await stack.db.discoveryRun.findUniqueOrThrow({ where: { id: run.id } });
      return r.status === "running" ? r : undefined;
    });
    const before = slow.requests;
    await waitFor("the discovery to be under way", async () => slow.requests > before + 2);
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    expect((await stack.db.discoveryRun.findUniqueOrThrow({ where: { id: run.id } })).status).toBe("running");

    slow.setDelay(0);
    workers.spawn({ DISCOVERY_TIMEOUT_SECONDS: "20" });
    const done = await waitFor(
      "the recovered job to finish",
      async () => {
        const r = await stack.db.discoveryRun.findUniqueOrThrow({ where: { id: run.id } });
        return r.status === "succeeded" ? r : undefined;
      },
      30_000,
    );
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    const rows = await stack.db.mcpCapability.findMany({ where: { serverId: server.id, kind: "tool" } });
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r) => r.name)).size).toBe(40);
    const history = await stack.db.mcpCapabilityChange.count({ where: { serverId: server.id, changeType: "added" } });
    expect(history).toBe(await stack.db.mcpCapability.count({ where: { serverId: server.id } }));
  }, 60_000);
});
