import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "graphql-ws";
import { Client as PgClient } from "pg";
import WebSocket from "ws";
import { type ChangingFixture, type FixtureHandle, startFixture } from "./fixtures/mcp";
import { TEST_DATABASE_URL } from "./support/env";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { type Collected, collect, connectWs } from "./support/ws";

const EVENTS = `subscription($sessionId: ID!, $after: Int) {
  chatEvents(sessionId: $sessionId, after: $after) {
    sessionId turnId seq type text toolCallId serverId toolName arguments result durationMs messageId status code errorMessage
    message { id role content status }
  }
}`;

const PRICES = { inputPerMillion: 1000, cachedInputPerMillion: 100, outputPerMillion: 2000 };

let stack: Stack;
let org: TestOrg;
let other: TestOrg;
let tools: FixtureHandle;
let changing: ChangingFixture;
let toolsServerId: string;
let changingServerId: string;
const clients: Client[] = [];

async function register(name: string, url: string): Promise<string> {
  const res = await request(stack.url, "POST", "/v1/mcp/servers", {
    auth: org.ownerKey,
    body: { name, baseUrl: url },
  });
  expect(res.status).toBe(201);
  await waitFor(`the discovery of ${name}`, async () => {
    const s = await stack.db.mcpServer.findUniqueOrThrow({ where: { id: res.body.id } });
    return s.discoveryStatus === "succeeded";
  });
  return res.body.id;
}

async function newSession(serverIds: string[]): Promise<string> {
  const res = await request(stack.url, "POST", "/v1/chat/sessions", { auth: org.ownerKey, body: { serverIds } });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Subscribes with `after: 0` (so nothing published before the subscription is live is missed). */
function watch(sessionId: string, auth = org.ownerKey, after = 0): Collected {
  const client = connectWs(stack.url, auth);
  clients.push(client);
  return collect(client, EVENTS, { sessionId, after });
}

function send(sessionId: string, content: string, auth = org.ownerKey) {
  return request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/messages`, { auth, body: { content } });
}

async function untilDone(feed: Collected, turns = 1): Promise<any[]> {
  await waitFor("the turn to finish", async () => {
    if (feed.errors.length > 0) throw new Error(JSON.stringify(feed.errors));
    return feed.items.filter((e) => e.type === "done").length >= turns;
  });
  return feed.items;
}

/**
 * The turn ended with `error` (SERVICE_UNAVAILABLE, with `errorMessage` when given) then `done`
 * as `status`, is stored so with `error`, and its session took the next message, which ran.
 * Returns the turn's events.
 */
async function expectEndedAndFreed(
  feed: Collected,
  sessionId: string,
  turnId: string,
  ended: { status: string; error: unknown; errorMessage?: unknown },
): Promise<any[]> {
  const events = feed.items.filter((e) => e.turnId === turnId);
  expect(events.slice(-2)).toMatchObject([
    { type: "error", code: "SERVICE_UNAVAILABLE", ...(ended.errorMessage ? { errorMessage: ended.errorMessage } : {}) },
    { type: "done", status: ended.status },
  ]);
  const turn = await stack.db.chatTurn.findUniqueOrThrow({ where: { id: turnId } });
  expect(turn).toMatchObject({ status: ended.status, error: ended.error });
  expect(turn.finishedAt).not.toBeNull();
  expect((await send(sessionId, "and now?")).status).toBe(202);
  await untilDone(feed, 2);
  return events;
}

async function history(sessionId: string, auth = org.ownerKey) {
  const res = await request(stack.url, "GET", `/v1/chat/sessions/${sessionId}?limit=500`, { auth });
  expect(res.status).toBe(200);
  return res.body.messages.items as any[];
}

beforeAll(async () => {
  const config = join(tmpdir(), `chat-agent-${process.pid}.json`);
  writeFileSync(config, JSON.stringify({ prices: { local: PRICES } }));
  stack = await startStack({ LANGGRAPH_CONFIG_PATH: config, CHAT_TOOL_TIMEOUT_SECONDS: "10" }, { worker: true });
  org = await createTestOrg(stack, "Chat turns");
  other = await createTestOrg(stack, "Chat elsewhere");
  tools = await startFixture("tools");
  changing = await startFixture("changing");
  toolsServerId = await register("tools", tools.url);
  changingServerId = await register("changing", changing.url);
}, 60_000);

afterAll(async () => {
  for (const client of clients) await Promise.resolve(client.dispose()).catch(() => undefined);
  await stack.close();
  await tools.close();
  await changing.close();
});

describe("a chat turn", () => {
  it("streams a two-server turn with two tool calls through the gateway, and the stored history equals what was streamed", async () => {
    const sessionId = await newSession([toolsServerId, changingServerId]);
    const feed = watch(sessionId);
    const sent = await send(sessionId, 'Please run echo {"text":"hi"} and then alpha {"text":"yo"}');
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ sessionId, status: "queued", userMessage: { role: "user" } });
    const events = await untilDone(feed);
    const turnId = sent.body.id;

    expect(events.every((e) => e.turnId === turnId && e.sessionId === sessionId)).toBe(true);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(events[events.length - 1]).toMatchObject({ type: "done", status: "completed" });

    const started = events.filter((e) => e.type === "tool_call_started");
    const finished = events.filter((e) => e.type === "tool_call_finished");
    expect(started.map((e) => [e.toolName, e.serverId]).sort()).toEqual(
      [
        ["alpha", changingServerId],
        ["echo", toolsServerId],
      ].sort(),
    );
    expect(finished.find((e) => e.toolName === "echo")).toMatchObject({ result: "echo: hi", arguments: null });
    expect(JSON.parse(finished.find((e) => e.toolName === "alpha").result)).toEqual({
      tool: "alpha",
      arguments: { text: "yo" },
    });

    const stored = await history(sessionId);
    expect(stored.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool", "assistant"]);
    const [user, asking, , , answer] = stored;
    expect(user.content).toContain("echo");
    // In the model's order (the message names echo, then alpha), though both run at once.
    expect(asking.toolCalls.map((c: any) => c.toolName)).toEqual(["echo", "alpha"]);
    const rows = await stack.db.chatToolCall.findMany({ where: { turnId }, orderBy: { position: "asc" } });
    expect(rows.map((r) => [r.toolName, r.position])).toEqual([
      ["echo", 0],
      ["alpha", 1],
    ]);
    for (const call of asking.toolCalls) {
      const event = finished.find((e) => e.toolCallId === call.id);
      expect(call).toMatchObject({ status: "succeeded", result: event.result, toolName: event.toolName });
      expect(call.serverId).toBe(event.serverId);
      expect(call.durationMs).toEqual(expect.any(Number));
    }
    expect(asking.toolCalls.find((c: any) => c.toolName === "echo").arguments).toEqual({ text: "hi" });
    // The final answer is exactly the tokens streamed after the last tool message.
    const lastToolMessage = events.map((e) => e.type).lastIndexOf("tool_call_finished");
    const streamed = events
      .slice(lastToolMessage)
      .filter((e) => e.type === "token")
      .map((e) => e.text)
      .join("");
    expect(answer.content).toBe(streamed);
    expect(answer.content).toContain("echo: hi");
    const messageEvents = events.filter((e) => e.type === "message");
    expect(messageEvents.map((e) => e.message.id)).toEqual(stored.slice(1).map((m) => m.id));
    expect(answer).toMatchObject({ model: "local", status: "complete" });
    expect(answer.inputTokens).toBeGreaterThan(0);
    expect(answer.outputTokens).toBeGreaterThan(0);
  });

  it("answers 409 CONFLICT to a second message while a turn runs, and takes one again once it is done", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    const first = await send(sessionId, 'sleepy {"ms": 1000}');
    expect(first.status).toBe(202);
    // The answer is the turn and message as stored (the turn-start statement builds them itself).
    const turnRow = await stack.db.chatTurn.findUniqueOrThrow({ where: { id: first.body.id } });
    expect(first.body).toMatchObject({ sessionId, model: turnRow.model, createdAt: turnRow.createdAt.toISOString() });
    const [stored] = await history(sessionId);
    expect(first.body.userMessage).toEqual(stored);
    const second = await send(sessionId, "and now?");
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe("CONFLICT");
    await untilDone(feed);
    // The session is freed before `done` is published: a message sent on `done` is taken.
    expect((await send(sessionId, "hello again")).status).toBe(202);
    await untilDone(feed, 2);
  });

  /**
   * Makes the database refuse the worker's claim of this session's turns (queued → running)
   * `times` times: a real error from PostgreSQL in the middle of the job, as a lost connection
   * or a pool timeout would raise. A sequence counts the refusals (it is not rolled back).
   */
  let refusedClaims = 0;

  async function refuseClaims(sessionId: string, times: number): Promise<() => Promise<void>> {
    return refuseTransitions(sessionId, { from: "queued", to: ["running"], times }, (refused) => {
      refusedClaims = refused;
    });
  }

  /**
   * Makes the database refuse `times` updates of this session's turns from status `from` to
   * one of `to`, then reports how many it refused to `counted` when restored.
   */
  async function refuseTransitions(
    sessionId: string,
    { from, to, times }: { from: string; to: string[]; times: number },
    counted: (refused: number) => void = () => undefined,
  ): Promise<() => Promise<void>> {
    const name = `test_refuse_${from}_${sessionId.replaceAll("-", "")}`;
    // As the database's owner: the application role may not create triggers.
    const owner = new PgClient({ connectionString: TEST_DATABASE_URL });
    await owner.connect();
    await owner.query(`CREATE SEQUENCE ${name}`);
    await owner.query(`GRANT USAGE ON SEQUENCE ${name} TO PUBLIC`);
    await owner.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW."sessionId" = '${sessionId}' AND OLD.status = '${from}'
           AND NEW.status IN (${to.map((t) => `'${t}'`).join(", ")})
           AND nextval('${name}') <= ${times} THEN
          RAISE EXCEPTION '${from} → ${to.join("/")} refused by the test';
        END IF;
        RETURN NEW;
      END $$`);
    await owner.query(`CREATE TRIGGER ${name} BEFORE UPDATE ON "ChatTurn" FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    return async () => {
      const { rows } = await owner.query(`SELECT is_called, last_value FROM ${name}`);
      // Each update the trigger saw (the refused ones among them) took a number.
      counted(rows[0].is_called ? Math.min(Number(rows[0].last_value), times) : 0);
      await owner.query(`DROP TRIGGER IF EXISTS ${name} ON "ChatTurn"`);
      await owner.query(`DROP FUNCTION IF EXISTS ${name}()`);
      await owner.query(`DROP SEQUENCE IF EXISTS ${name}`);
      await owner.end();
    };
  }

  it("retries a turn whose claim failed in the database, and runs it once", async () => {
    const sessionId = await newSession([toolsServerId]);
    const restore = await refuseClaims(sessionId, 1);
    try {
      const feed = watch(sessionId);
      const sent = await send(sessionId, 'echo {"text": "once"}');
      expect(sent.status).toBe(202);
      const events = (await untilDone(feed)).filter((e) => e.turnId === sent.body.id);
      expect(events[events.length - 1]).toMatchObject({ type: "done", status: "completed" });
      expect(events.filter((e) => e.type === "tool_call_started")).toHaveLength(1);
      expect(events.some((e) => e.type === "error")).toBe(false);
      const turn = await stack.db.chatTurn.findUniqueOrThrow({ where: { id: sent.body.id } });
      expect(turn.status).toBe("completed");
    } finally {
      await restore();
    }
    expect(refusedClaims).toBe(1);
  });

  it("fails a turn that could not be claimed on any attempt, tells the subscriber and frees the session", async () => {
    const sessionId = await newSession([toolsServerId]);
    const restore = await refuseClaims(sessionId, 1_000);
    let sent: Awaited<ReturnType<typeof send>>;
    const feed = watch(sessionId);
    try {
      sent = await send(sessionId, "hello");
      expect(sent.status).toBe(202);
      await untilDone(feed);
    } finally {
      await restore();
    }
    expect(refusedClaims).toBe(3); // the first attempt and both retries
    await expectEndedAndFreed(feed, sessionId, sent.body.id, {
      status: "failed",
      error: "The turn could not be started; try again",
    });
  });

  it("interrupts a turn whose last attempt failed after its claim: error and done, no tool call run twice, the session freed", async () => {
    const sessionId = await newSession([toolsServerId]);
    // The first two attempts fail before the claim (the turn stays queued); the last one claims
    // the turn, runs it (one tool call, the answer) and fails when it stores the turn's end:
    // `completed`, then `failed` (a run whose end could not be stored fails the turn).
    const restoreClaims = await refuseClaims(sessionId, 2);
    let refusedEnds = 0;
    const restoreEnds = await refuseTransitions(
      sessionId,
      { from: "running", to: ["completed", "failed"], times: 2 },
      (refused) => {
        refusedEnds = refused;
      },
    );
    const feed = watch(sessionId);
    let sent: Awaited<ReturnType<typeof send>>;
    try {
      sent = await send(sessionId, 'echo {"text": "once"}');
      expect(sent.status).toBe(202);
      await untilDone(feed);
    } finally {
      await restoreEnds();
      await restoreClaims();
    }
    expect([refusedClaims, refusedEnds]).toEqual([2, 2]);
    const calls = await stack.db.chatToolCall.findMany({ where: { turnId: sent.body.id } });
    expect(calls.map((c) => [c.toolName, c.status])).toEqual([["echo", "succeeded"]]);
    // The session is free: the next message is taken and runs.
    const events = await expectEndedAndFreed(feed, sessionId, sent.body.id, {
      status: "interrupted",
      error: expect.stringContaining("interrupted"),
    });
    expect(events.filter((e) => e.type === "tool_call_started")).toHaveLength(1);
    expect(events.filter((e) => e.type === "tool_call_finished")).toHaveLength(1);
    expect(events.filter((e) => e.type === "done")).toHaveLength(1);
    expect(await stack.db.chatToolCall.count({ where: { sessionId } })).toBe(1);
  });

  it("answers SERVICE_UNAVAILABLE with retryAfter, never INTERNAL, when the database is too busy to start a turn, and writes nothing of it", async () => {
    const sessionId = await newSession([toolsServerId]);
    // The user message is the turn-starting transaction's third write (after the turn and the
    // session's claim): the database refuses it as an overloaded server would. 55P03: a
    // lock_timeout; 57014: a statement_timeout; 40P01: a deadlock; 53200: out of memory.
    const name = `test_busy_${sessionId.replaceAll("-", "")}`;
    const owner = new PgClient({ connectionString: TEST_DATABASE_URL });
    await owner.connect();
    try {
      for (const sqlState of ["55P03", "57014", "40P01", "53200"]) {
        await owner.query(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW."sessionId" = '${sessionId}' THEN
              RAISE EXCEPTION 'the database is busy (test)' USING ERRCODE = '${sqlState}';
            END IF;
            RETURN NEW;
          END $$`);
        await owner.query(`DROP TRIGGER IF EXISTS ${name} ON "ChatMessage"`);
        await owner.query(
          `CREATE TRIGGER ${name} BEFORE INSERT ON "ChatMessage" FOR EACH ROW EXECUTE FUNCTION ${name}()`,
        );
        const res = await send(sessionId, "hello");
        expect([sqlState, res.status, res.body.error]).toMatchObject([
          sqlState,
          503,
          { code: "SERVICE_UNAVAILABLE", details: { retryAfter: 1 } },
        ]);
        expect(res.headers.get("retry-after")).toBe("1");
      }
    } finally {
      await owner.query(`DROP TRIGGER IF EXISTS ${name} ON "ChatMessage"`);
      await owner.query(`DROP FUNCTION IF EXISTS ${name}()`);
      await owner.end();
    }
    // Nothing half-written: no turn, no message, the session not held.
    expect(await stack.db.chatTurn.count({ where: { sessionId } })).toBe(0);
    expect(await stack.db.chatMessage.count({ where: { sessionId } })).toBe(0);
    expect(await stack.db.chatSession.findUniqueOrThrow({ where: { id: sessionId } })).toMatchObject({
      activeTurnId: null,
    });
    const feed = watch(sessionId);
    expect((await send(sessionId, "and now?")).status).toBe(202);
    await untilDone(feed);
  });

  it("fails a running turn whose writes the database is too busy for with SERVICE_UNAVAILABLE (not the model's failure), and frees the session", async () => {
    const sessionId = await newSession([toolsServerId]);
    const name = `test_busy_answer_${sessionId.replaceAll("-", "")}`;
    const owner = new PgClient({ connectionString: TEST_DATABASE_URL });
    await owner.connect();
    // The worker's store of the model's answer meets a lock_timeout (what was streamed is kept
    // as a partial answer).
    await owner.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW."sessionId" = '${sessionId}' AND NEW.role = 'assistant' AND NEW.status = 'complete' THEN
          RAISE EXCEPTION 'the database is busy (test)' USING ERRCODE = '55P03';
        END IF;
        RETURN NEW;
      END $$`);
    await owner.query(`CREATE TRIGGER ${name} BEFORE INSERT ON "ChatMessage" FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    const feed = watch(sessionId);
    let sent: Awaited<ReturnType<typeof send>>;
    try {
      sent = await send(sessionId, "hello");
      expect(sent.status).toBe(202);
      await untilDone(feed);
    } finally {
      await owner.query(`DROP TRIGGER IF EXISTS ${name} ON "ChatMessage"`);
      await owner.query(`DROP FUNCTION IF EXISTS ${name}()`);
      await owner.end();
    }
    await expectEndedAndFreed(feed, sessionId, sent.body.id, {
      status: "failed",
      error: "The database was too busy to run the turn; try again",
      errorMessage: expect.stringContaining("database was too busy"),
    });
  });

  it("refuses an empty or too long message with VALIDATION_FAILED", async () => {
    const sessionId = await newSession([toolsServerId]);
    for (const content of ["   ", "x".repeat(stack.workerEnv.CHAT_MAX_MESSAGE_CHARS + 1)]) {
      const res = await send(sessionId, content);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("waits for approval of a destructive tool, runs it when approved and skips it when denied", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    await send(sessionId, 'delete_item {"id":"42"}');
    await waitFor("approval_required", async () => feed.items.some((e) => e.type === "approval_required"));
    const asked = feed.items.find((e) => e.type === "approval_required");
    expect(asked).toMatchObject({ toolName: "delete_item", serverId: toolsServerId, arguments: { id: "42" } });
    expect(feed.items.some((e) => e.type === "tool_call_started")).toBe(false);
    const approved = await request(
      stack.url,
      "POST",
      `/v1/chat/sessions/${sessionId}/tool-calls/${asked.toolCallId}/approval`,
      { auth: org.ownerKey, body: { approve: true } },
    );
    expect(approved.status).toBe(200);
    await untilDone(feed);
    expect(feed.items.find((e) => e.type === "tool_call_finished")).toMatchObject({
      toolCallId: asked.toolCallId,
      result: "deleted 42",
    });
    const again = await request(
      stack.url,
      "POST",
      `/v1/chat/sessions/${sessionId}/tool-calls/${asked.toolCallId}/approval`,
      { auth: org.ownerKey, body: { approve: false } },
    );
    expect(again.status).toBe(409);

    await send(sessionId, 'delete_item {"id":"43"}');
    await waitFor("the second approval_required", async () =>
      feed.items.filter((e) => e.type === "approval_required").length === 2 ? true : undefined,
    );
    const second = feed.items.filter((e) => e.type === "approval_required")[1];
    const denied = await request(
      stack.url,
      "POST",
      `/v1/chat/sessions/${sessionId}/tool-calls/${second.toolCallId}/approval`,
      { auth: org.ownerKey, body: { approve: false } },
    );
    expect(denied.status).toBe(200);
    expect(denied.body.status).toBe("denied");
    await untilDone(feed, 2);
    const failed = feed.items.find((e) => e.type === "tool_call_failed");
    expect(failed).toMatchObject({ toolCallId: second.toolCallId, code: "FORBIDDEN" });
    const call = await stack.db.chatToolCall.findUniqueOrThrow({ where: { id: second.toolCallId } });
    expect(call.status).toBe("denied");
    expect(call.result).toBeNull();
  });

  it("cancels a running turn: the turn ends cancelled and the session takes a new message", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    const sent = await send(sessionId, 'sleepy {"ms": 1500}');
    await waitFor("the tool call to start", async () => feed.items.some((e) => e.type === "tool_call_started"));
    const cancelled = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/cancel`, {
      auth: org.ownerKey,
    });
    expect(cancelled.status).toBe(200);
    await untilDone(feed);
    expect(feed.items[feed.items.length - 1]).toMatchObject({ type: "done", status: "cancelled" });
    const turn = await stack.db.chatTurn.findUniqueOrThrow({ where: { id: sent.body.id } });
    expect(turn.status).toBe("cancelled");
    const call = await stack.db.chatToolCall.findFirstOrThrow({ where: { turnId: turn.id } });
    expect(call).toMatchObject({ status: "failed" });
    expect((await send(sessionId, "still there?")).status).toBe(202);
    await untilDone(feed, 2);
    const nothing = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/cancel`, { auth: org.ownerKey });
    expect(nothing.status).toBe(409);
  });

  it("reports a tool that errors, one that times out and one that returns 20 MB as failed calls, and still answers", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["broken", "VALIDATION_FAILED", /broken on purpose/],
      ['sleepy {"ms": 12000}', "SERVICE_UNAVAILABLE", /timed out/],
      ['huge {"mb": 20}', "PAYLOAD_TOO_LARGE", /larger than/],
    ];
    for (const [content, code, message] of cases) {
      const sessionId = await newSession([toolsServerId]);
      const feed = watch(sessionId);
      await send(sessionId, content);
      const events = await untilDone(feed);
      const failed = events.find((e) => e.type === "tool_call_failed");
      expect(failed).toMatchObject({ code });
      expect(failed.errorMessage).toMatch(message);
      expect(events[events.length - 1]).toMatchObject({ type: "done", status: "completed" });
      const call = await stack.db.chatToolCall.findUniqueOrThrow({ where: { id: failed.toolCallId } });
      expect(call.status).toBe("failed");
      expect(call.error).toMatch(message);
      const answer = (await history(sessionId)).at(-1);
      expect(answer.role).toBe("assistant");
      expect(answer.content).toContain("Error");
    }
  }, 90_000);

  it("stores and streams arguments that fail the tool's schema as a failed call that never reaches the server", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    await send(sessionId, 'add {"a": "one"}');
    const events = await untilDone(feed);
    const started = events.find((e) => e.type === "tool_call_started");
    const failed = events.find((e) => e.type === "tool_call_failed");
    expect(started).toMatchObject({ toolName: "add", arguments: { a: "one" } });
    expect(failed).toMatchObject({ toolCallId: started.toolCallId, code: "VALIDATION_FAILED" });
    expect(failed.errorMessage).toMatch(/did not match expected schema/);
    expect(events[events.length - 1]).toMatchObject({ type: "done", status: "completed" });
    const call = await stack.db.chatToolCall.findUniqueOrThrow({ where: { id: failed.toolCallId } });
    expect(call).toMatchObject({ status: "failed", toolName: "add", arguments: { a: "one" }, result: null });
    const usage = await stack.db.usageEvent.findFirstOrThrow({
      where: { sessionId, kind: "chat.tool_call" },
    });
    expect(usage).toMatchObject({ success: false, toolName: "add" });
    // The model was told why: the answer summarizes the refusal.
    const answer = (await history(sessionId)).at(-1);
    expect(answer).toMatchObject({ role: "assistant" });
    expect(answer.content).toMatch(/did not match expected schema/);
  });

  // What the model is sent of earlier tool calls is proven on the providers' wire formats
  // (test/chat-providers.test.ts); the local model reads only the last message, so this one
  // proves the stored history a second turn builds on, and that the turn still completes.
  it("answers a second turn after a turn with a tool call, the history holding the call's tool message", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    await send(sessionId, 'echo {"text": "first"}');
    await untilDone(feed);
    await send(sessionId, "thanks");
    const events = await untilDone(feed, 2);
    expect(events.filter((e) => e.type === "done").map((e) => e.status)).toEqual(["completed", "completed"]);
    const messages = await history(sessionId);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant", "user", "assistant"]);
    expect(messages.at(-1).content).toBe("You said: thanks");
  });

  it("reports a server that became unreachable in the middle of a turn as a failed call", async () => {
    const doomed = await startFixture("tools");
    const doomedId = await register("doomed", doomed.url);
    const sessionId = await newSession([doomedId]);
    const feed = watch(sessionId);
    await send(sessionId, 'delete_item {"id":"7"}');
    await waitFor("approval_required", async () => feed.items.find((e) => e.type === "approval_required"));
    await doomed.close();
    const asked = feed.items.find((e) => e.type === "approval_required");
    await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/tool-calls/${asked.toolCallId}/approval`, {
      auth: org.ownerKey,
      body: { approve: true },
    });
    const events = await untilDone(feed);
    expect(events.find((e) => e.type === "tool_call_failed")).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    expect(events[events.length - 1]).toMatchObject({ type: "done", status: "completed" });
  });

  it("replays what a reconnecting subscriber missed, from the seq it gives as after", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    await send(sessionId, 'echo {"text":"again"}');
    const all = await untilDone(feed);
    const middle = all[Math.floor(all.length / 2)].seq;
    const resumed = watch(sessionId, org.ownerKey, middle);
    await waitFor("the replay", async () => resumed.items.some((e) => e.type === "done"));
    expect(resumed.items.map((e) => e.seq)).toEqual(all.filter((e) => e.seq > middle).map((e) => e.seq));
  });

  it("records a usage event with tokens and cost per model call and one per tool call", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    await send(sessionId, 'add {"a": 2, "b": 3}');
    await untilDone(feed);
    const events = await stack.db.usageEvent.findMany({ where: { sessionId }, orderBy: { occurredAt: "asc" } });
    const model = events.filter((e) => e.kind === "chat.model_call");
    const toolCalls = events.filter((e) => e.kind === "chat.tool_call");
    expect(model).toHaveLength(2);
    expect(toolCalls).toHaveLength(1);
    expect(toolCalls[0]).toMatchObject({ serverId: toolsServerId, toolName: "add", success: true });
    expect(toolCalls[0]?.capabilityId).toEqual(expect.any(String));
    const messages = await history(sessionId);
    for (const event of model) {
      expect(event).toMatchObject({ organizationId: org.organizationId, userId: org.ownerId, model: "local" });
      expect(event.inputTokens).toBeGreaterThan(0);
      const expected =
        (event.inputTokens * PRICES.inputPerMillion + event.outputTokens * PRICES.outputPerMillion) / 1e6;
      expect(event.costUsd.toFixed(8)).toBe(expected.toFixed(8));
    }
    const assistant = messages.filter((m) => m.role === "assistant");
    expect(assistant.map((m) => m.costUsd).sort()).toEqual(model.map((e) => e.costUsd.toFixed()).sort());
  });

  it("lets another organization neither subscribe to nor read nor write a session", async () => {
    const sessionId = await newSession([toolsServerId]);
    const theirs = watch(sessionId, other.ownerKey);
    await waitFor("the refusal", async () => theirs.completed);
    expect(theirs.results.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code)).toEqual(["NOT_FOUND"]);
    expect(theirs.items.filter(Boolean)).toEqual([]);
    const read = await request(stack.url, "GET", `/v1/chat/sessions/${sessionId}`, { auth: other.ownerKey });
    expect(read.status).toBe(404);
    expect((await send(sessionId, "hi", other.ownerKey)).status).toBe(404);
    const cancel = await request(stack.url, "POST", `/v1/chat/sessions/${sessionId}/cancel`, { auth: other.ownerKey });
    expect(cancel.status).toBe(404);
  });
});

/** A raw WebSocket to the chat stream; frames are collected as parsed JSON. */
function openStream(sessionId: string, options: { header?: string; query?: string } = {}) {
  const url = `${stack.url.replace(/^http/, "ws")}/v1/chat/sessions/${sessionId}/stream${options.query ?? ""}`;
  const socket = new WebSocket(url, options.header ? { headers: { authorization: `Bearer ${options.header}` } } : {});
  const frames: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on("message", (raw) => frames.push(JSON.parse(raw.toString())));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { socket, frames, closed, opened };
}

describe("the chat WebSocket /v1/chat/sessions/{id}/stream", () => {
  it("takes a message frame and streams the same events as the GraphQL subscription", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    const stream = openStream(sessionId, { header: org.ownerKey, query: "?after=0" });
    await stream.opened;
    await waitFor("ready", async () => stream.frames.some((f) => f.type === "ready"));
    stream.socket.send(JSON.stringify({ type: "message", id: "m1", content: 'echo {"text":"over ws"}' }));
    await waitFor("done on the socket", async () => stream.frames.some((f) => f.type === "done"));
    await untilDone(feed);
    expect(stream.frames.find((f) => f.type === "reply")).toMatchObject({ id: "m1", data: { status: "queued" } });
    const events = stream.frames.filter((f) => typeof f.seq === "number");
    expect(events.map((e) => [e.seq, e.type])).toEqual(feed.items.map((e) => [e.seq, e.type]));
    expect(events.find((e) => e.type === "tool_call_finished").result).toBe("echo: over ws");
    stream.socket.close();
  });

  it("authenticates a browser by its first frame, and refuses no credentials, another organization and bad frames", async () => {
    const sessionId = await newSession([toolsServerId]);
    const browser = openStream(sessionId);
    await browser.opened;
    browser.socket.send(JSON.stringify({ type: "auth", token: org.ownerKey }));
    await waitFor("ready", async () => browser.frames.some((f) => f.type === "ready"));
    browser.socket.send("not json");
    browser.socket.send(JSON.stringify({ type: "launch", id: 9 }));
    await waitFor("two replies", async () => browser.frames.filter((f) => f.type === "reply").length === 2);
    expect(browser.frames.filter((f) => f.type === "reply").map((f) => f.error.code)).toEqual([
      "BAD_REQUEST",
      "BAD_REQUEST",
    ]);
    browser.socket.close();

    const anonymous = openStream(sessionId);
    await anonymous.opened;
    anonymous.socket.send(JSON.stringify({ type: "message", content: "hi" }));
    expect((await anonymous.closed).code).toBe(4401);

    const theirs = openStream(sessionId, { header: other.ownerKey });
    expect((await theirs.closed).code).toBe(4404);
    expect(theirs.frames.filter((f) => f.type !== "ready")).toEqual([]);
  });
});

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  return rows;
}

function findExports(sessionId: string): string[] {
  const root = join(__dirname, "..", "outputs", "test");
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((f) => !f.startsWith("latest") && f.includes("chat-exports") && f.split("/").pop()?.startsWith(sessionId))
    .map((f) => join(root, f));
}

describe("chat export", () => {
  it("streams the conversation as JSON and CSV that parse back to the history, and writes the same file to outputs", async () => {
    const sessionId = await newSession([toolsServerId]);
    const feed = watch(sessionId);
    await send(sessionId, 'echo {"text":"a, \\"quoted\\"\\nline"} please');
    await untilDone(feed);
    const stored = await history(sessionId);

    const json = await request(stack.url, "GET", `/v1/chat/sessions/${sessionId}/export?format=json`, {
      auth: org.ownerKey,
    });
    expect(json.status).toBe(200);
    expect(json.headers.get("content-type")).toContain("application/json");
    expect(json.body.session).toMatchObject({ id: sessionId, serverIds: [toolsServerId] });
    expect(json.body.messages).toEqual(stored);

    const csv = await fetch(`${stack.url}/v1/chat/sessions/${sessionId}/export?format=csv`, {
      headers: { authorization: `Bearer ${org.ownerKey}` },
    });
    expect(csv.status).toBe(200);
    const text = await csv.text();
    const [header, ...rows] = parseCsv(text);
    expect(rows).toHaveLength(stored.length);
    const parsed = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]])));
    parsed.forEach((row, i) => {
      const m = stored[i];
      expect(row).toMatchObject({ id: m.id, role: m.role, content: m.content, costUsd: m.costUsd });
      expect(JSON.parse(row.toolCalls as string)).toEqual(m.toolCalls);
      expect(Number(row.inputTokens)).toBe(m.inputTokens);
    });

    const files = findExports(sessionId);
    expect(files.filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(f, "utf8")))).toEqual([
      json.body,
    ]);
    expect(files.filter((f) => f.endsWith(".csv")).map((f) => readFileSync(f, "utf8"))).toEqual([text]);

    const theirs = await request(stack.url, "GET", `/v1/chat/sessions/${sessionId}/export`, { auth: other.ownerKey });
    expect(theirs.status).toBe(404);
    const bad = await request(stack.url, "GET", `/v1/chat/sessions/${sessionId}/export?format=xml`, {
      auth: org.ownerKey,
    });
    expect(bad.status).toBe(400);
  });
});

describe("two gateway instances", () => {
  it("deliver a turn sent through one to a subscriber of the other", async () => {
    const second = await startStack();
    try {
      const sessionId = await newSession([toolsServerId]);
      const client = connectWs(second.url, org.ownerKey);
      clients.push(client);
      const feed = collect(client, EVENTS, { sessionId, after: 0 });
      const sent = await send(sessionId, 'echo {"text":"across"}');
      expect(sent.status).toBe(202);
      const events = await untilDone(feed);
      expect(events.find((e) => e.type === "tool_call_finished")).toMatchObject({ result: "echo: across" });
      expect(events.every((e) => e.turnId === sent.body.id)).toBe(true);
    } finally {
      await second.close();
    }
  }, 60_000);
});
