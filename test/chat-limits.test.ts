import type { Client } from "graphql-ws";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { type Collected, collect, connectWs } from "./support/ws";

const EVENTS = `subscription($sessionId: ID!, $after: Int) {
  chatEvents(sessionId: $sessionId, after: $after) {
    turnId seq type text toolCallId toolName status code errorMessage
  }
}`;

/** Short limits, so the tests wait for them (as conditions) in seconds, not minutes. */
const TURN_TIMEOUT_SECONDS = 4;
const APPROVAL_TIMEOUT_SECONDS = 1;
/** Words of the answer that is cancelled mid-stream: long enough to be streaming still when the cancel arrives. */
const LONG_ANSWER_WORDS = 10_000;

let stack: Stack;
let org: TestOrg;
let tools: FixtureHandle;
let serverId: string;
const clients: Client[] = [];

async function newSession(): Promise<string> {
  const res = await request(stack.url, "POST", "/v1/chat/sessions", {
    auth: org.ownerKey,
    body: { serverIds: [serverId] },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

function watch(sessionId: string): Collected {
  const client = connectWs(stack.url, org.ownerKey);
  clients.push(client);
  return collect(client, EVENTS, { sessionId, after: 0 });
}

async function untilDone(feed: Collected, ms = 20_000): Promise<any[]> {
  await waitFor(
    "the turn to finish",
    async () => {
      if (feed.errors.length > 0) throw new Error(JSON.stringify(feed.errors));
      return feed.items.some((e) => e.type === "done");
    },
    ms,
  );
  return feed.items;
}

beforeAll(async () => {
  stack = await startStack(
    {
      CHAT_TURN_TIMEOUT_SECONDS: String(TURN_TIMEOUT_SECONDS),
      CHAT_APPROVAL_TIMEOUT_SECONDS: String(APPROVAL_TIMEOUT_SECONDS),
      CHAT_MAX_MESSAGE_CHARS: String(LONG_ANSWER_WORDS * 8),
    },
    { worker: true },
  );
  org = await createTestOrg(stack, "Chat limits");
  tools = await startFixture("tools");
  const res = await request(stack.url, "POST", "/v1/mcp/servers", {
    auth: org.ownerKey,
    body: { name: "tools", baseUrl: tools.url },
  });
  expect(res.status).toBe(201);
  serverId = res.body.id;
  await waitFor(
    "the discovery",
    async () =>
      (await stack.db.mcpServer.findUniqueOrThrow({ where: { id: serverId } })).discoveryStatus === "succeeded",
  );
}, 60_000);

afterAll(async () => {
  for (const client of clients) await Promise.resolve(client.dispose()).catch(() => undefined);
  await stack?.close();
  await tools?.close();
});

describe("chat limits", () => {
  it("denies a tool call nobody approves within CHAT_APPROVAL_TIMEOUT_SECONDS, does not run it, and still answers", async () => {
    const sessionId = await newSession();
    const feed = watch(sessionId);
    const sent = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/messages`, {
      auth: org.ownerKey,
      body: { content: 'delete_item {"id":"99"}' },
    });
    expect(sent.status).toBe(202);
    const events = await untilDone(feed);
    const asked = events.find((e) => e.type === "approval_required");
    expect(asked).toMatchObject({ toolName: "delete_item" });
    expect(events.some((e) => e.type === "tool_call_started")).toBe(false);
    expect(events.find((e) => e.type === "tool_call_failed")).toMatchObject({
      toolCallId: asked.toolCallId,
      code: "FORBIDDEN",
    });
    expect(events[events.length - 1]).toMatchObject({ type: "done", status: "completed" });
    const call = await stack.db.chatToolCall.findUniqueOrThrow({ where: { id: asked.toolCallId } });
    expect(call).toMatchObject({ status: "denied", result: null });
    // Too late: the decision was taken by the timeout.
    const late = await request(
      stack.url,
      "POST",
      `/v1/chat/sessions/${sessionId}/tool-calls/${asked.toolCallId}/approval`,
      { auth: org.ownerKey, body: { approve: true } },
    );
    expect(late.status).toBe(409);
  }, 30_000);

  it("fails a turn that runs past CHAT_TURN_TIMEOUT_SECONDS with an error event, stops its tool call, and frees the session", async () => {
    const sessionId = await newSession();
    const feed = watch(sessionId);
    const sent = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/messages`, {
      auth: org.ownerKey,
      body: { content: `sleepy {"ms": ${(TURN_TIMEOUT_SECONDS + 20) * 1000}}` },
    });
    expect(sent.status).toBe(202);
    const events = await untilDone(feed);
    expect(events.find((e) => e.type === "error")).toMatchObject({
      code: "SERVICE_UNAVAILABLE",
      errorMessage: expect.stringContaining("CHAT_TURN_TIMEOUT_SECONDS"),
    });
    expect(events[events.length - 1]).toMatchObject({ type: "done", status: "failed" });
    const turn = await stack.db.chatTurn.findUniqueOrThrow({ where: { id: sent.body.id } });
    expect(turn.status).toBe("failed");
    expect(turn.error).toContain("CHAT_TURN_TIMEOUT_SECONDS");
    const call = await stack.db.chatToolCall.findFirstOrThrow({ where: { turnId: turn.id } });
    expect(call.status).toBe("failed");
    expect(call.error).toMatch(/timed out/);
    const next = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/messages`, {
      auth: org.ownerKey,
      body: { content: "still there?" },
    });
    expect(next.status).toBe(202);
  }, 30_000);

  it("keeps what was streamed before a cancel as the turn's partial answer, marked partial", async () => {
    const sessionId = await newSession();
    const feed = watch(sessionId);
    const words = Array.from({ length: LONG_ANSWER_WORDS }, (_, i) => `w${i}`).join(" ");
    const sent = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/messages`, {
      auth: org.ownerKey,
      body: { content: words },
    });
    expect(sent.status).toBe(202);
    await waitFor("the first token", async () => feed.items.some((e) => e.type === "token"));
    const cancelled = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/cancel`, { auth: org.ownerKey });
    expect(cancelled.status).toBe(200);
    const events = await untilDone(feed, 60_000);
    expect(events[events.length - 1]).toMatchObject({ type: "done", status: "cancelled" });
    const turn = await stack.db.chatTurn.findUniqueOrThrow({ where: { id: sent.body.id } });
    expect(turn.status).toBe("cancelled");
    const answers = await stack.db.chatMessage.findMany({ where: { turnId: turn.id, role: "assistant" } });
    expect(answers).toHaveLength(1);
    const partial = answers[0];
    expect(partial?.status).toBe("partial");
    // What was stored is exactly what subscribers saw, and less than the whole answer.
    const streamed = events
      .filter((e) => e.type === "token")
      .map((e) => e.text)
      .join("");
    expect(partial?.content).toBe(streamed);
    const whole = `You said: ${words}`;
    expect(whole.startsWith(streamed)).toBe(true);
    expect(streamed.length).toBeLessThan(whole.length);
  }, 90_000);
});
