import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "./support/env";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

const ROOT = resolve(__dirname, "..");
let stack: Stack;
let org: TestOrg;
let slow: FixtureHandle & { setDelay(ms: number): void };
const children: ChildProcess[] = [];

/** A real worker process (the built one, as `npm start` runs it) on this stack's queues. */
function spawnWorker(): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, "worker/dist/main.js")], {
    env: {
      ...process.env,
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      JOB_QUEUE_PREFIX: stack.workerEnv.JOB_QUEUE_PREFIX,
      ALLOWED_EGRESS_HOSTS: "*,127.0.0.1",
      WORKER_STALL_INTERVAL_MS: "1000",
      DISCOVERY_TIMEOUT_SECONDS: "20",
      OUTPUTS_DIR: "outputs/test",
      LOG_LEVEL: "warn",
      // Any free port: the default 9090 may be taken by a running `npm start`.
      PROMETHEUS_METRICS_PORT: "0",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  // The test runs the worker as a process, from its build; build it if it is missing or stale.
  execFileSync("npx", ["turbo", "run", "build", "--filter=@sprintconnect/worker...", "--output-logs=errors-only"], {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  stack = await startStack();
  org = await createTestOrg(stack, "Crash");
  slow = (await startFixture("slow", { delayMs: 0, tools: 40, pageSize: 5 })) as typeof slow;
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
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

    const first = spawnWorker();
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
    spawnWorker();
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
