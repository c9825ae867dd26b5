import type { Client } from "graphql-ws";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { buildWorker, WorkerProcesses } from "./support/worker-process";
import { collect, connectWs } from "./support/ws";

let stack: Stack;
let org: TestOrg;
let tools: FixtureHandle;
let workers: WorkerProcesses;
const clients: Client[] = [];

beforeAll(async () => {
  buildWorker();
  stack = await startStack();
  workers = new WorkerProcesses(stack);
  org = await createTestOrg(stack, "Chat crash");
  tools = await startFixture("tools");
}, 180_000);

afterAll(async () => {
  workers.killAll();
  for (const client of clients) await Promise.resolve(client.dispose()).catch(() => undefined);
  await stack.close();
  await tools.close();
});

describe("a worker killed in the middle of a chat turn", () => {
  it("leaves the turn interrupted with an error event, never runs its tool call again, and frees the session", async () => {
    let worker = workers.spawn();
    const server = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "crash-tools", baseUrl: tools.url },
    });
    await waitFor(
      "discovery",
      async () =>
        (await stack.db.mcpServer.findUniqueOrThrow({ where: { id: server.body.id } })).discoveryStatus === "succeeded",
      60_000,
    );
    const session = await request(stack.url, "POST", "/v1/chat/sessions", {
      auth: org.ownerKey,
      body: { serverIds: [server.body.id] },
    });
    const sessionId = session.body.id;
    const client = connectWs(stack.url, org.ownerKey);
    clients.push(client);
    const feed = collect(
      client,
      `subscription($sessionId: ID!) { chatEvents(sessionId: $sessionId, after: 0) { turnId seq type status code toolCallId } }`,
      { sessionId },
    );
    const sent = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/messages`, {
      auth: org.ownerKey,
      body: { content: 'sleepy {"ms": 60000}' },
    });
    expect(sent.status).toBe(202);
    await waitFor("the tool call to start", async () => feed.items.some((i) => i.type === "tool_call_started"), 30_000);

    worker.kill("SIGKILL");
    await new Promise((r) => worker.once("exit", r));
    const requestsBefore = tools.requests;
    worker = workers.spawn();

    await waitFor("the interruption", async () => feed.items.some((i) => i.type === "done"), 30_000);
    const mine = feed.items.filter((i) => i.turnId === sent.body.id);
    expect(mine.slice(-2)).toMatchObject([
      { type: "error", code: "SERVICE_UNAVAILABLE" },
      { type: "done", status: "interrupted" },
    ]);
    expect(mine.filter((i) => i.type === "tool_call_started")).toHaveLength(1);
    const turn = await stack.db.chatTurn.findUniqueOrThrow({ where: { id: sent.body.id } });
    expect(turn.status).toBe("interrupted");
    const calls = await stack.db.chatToolCall.findMany({ where: { turnId: turn.id } });
    expect(calls.map((c) => c.status)).toEqual(["failed"]);
    // The new worker did not call the tool again (the fixture saw no new request).
    expect(tools.requests).toBe(requestsBefore);

    const again = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/messages`, {
      auth: org.ownerKey,
      body: { content: "are you back?" },
    });
    expect(again.status).toBe(202);
    await waitFor("the next turn", async () => feed.items.filter((i) => i.type === "done").length === 2, 30_000);
    expect(feed.items.at(-1)).toMatchObject({ type: "done", status: "completed" });
  }, 150_000);
});
