import { createOrganization } from "@sprintconnect/admin-subgraph";
import {
  createPrisma,
  type PrismaClient,
  parseEnv,
  resolveAppDatabaseUrl,
  resolveKeys,
  subgraphEnvSchema,
} from "@sprintconnect/core";
import { connectMcp, EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import type { Client } from "graphql-ws";
import { type FixtureHandle, startFixture } from "../test/fixtures/mcp";
import { graphql, request } from "../test/support/http";
import { createTestOrg } from "../test/support/stack";
import { waitFor } from "../test/support/wait";
import { type Collected, collect, connectWs } from "../test/support/ws";
import { processCpuMs, startProcessStack } from "./support/process-stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, sleep, startBenchStack } from "./support/stack";
import { epochMs, summarize } from "./support/stats";

/**
 * Chat through the stack as `npm start` runs it (every service its own process: the gateway, the
 * chat subgraph and the worker run the turn on their own cores, as in production), driven from
 * this process over HTTP and graphql-ws. CHAT_BENCH_IN_PROCESS=1 runs the test harness's
 * one-process stack instead (gateway, subgraphs and worker on one event loop: for profiling).
 */
const IN_PROCESS = process.env.CHAT_BENCH_IN_PROCESS === "1";
const FIRST_TOKEN_TURNS = 40;
const TOOL_TURNS = 20;
const CONCURRENT_SESSIONS = 100;
/** Words of each answer in the concurrent run (the local model streams one token per word). */
const WORDS = 100;
const SHAPE = IN_PROCESS
  ? "Gateway, subgraphs, worker and subscriber in one process (CHAT_BENCH_IN_PROCESS=1)."
  : "Gateway, subgraphs and worker each their own process, as `npm start` runs them; clients in the bench process.";

const EVENTS = `subscription($sessionId: ID!, $after: Int) {
  chatEvents(sessionId: $sessionId, after: $after) { turnId seq type text status occurredAt }
}`;
const SEND = `mutation($id: ID!, $content: String!) { sendChatMessage(sessionId: $id, input: { content: $content }) { id } }`;

/** What the bench needs of either stack. */
interface Target {
  url: string;
  db: PrismaClient;
  ownerKey: string;
  /** Process ids to read CPU time from, by service (empty in process: one process does all). */
  pids: Record<string, number>;
  close(): Promise<void>;
}

let target: Target;
let tools: FixtureHandle;
let serverId: string;
const clients: Client[] = [];

const STACK_ENV = {
  WORKER_CHAT_CONCURRENCY: String(CONCURRENT_SESSIONS),
  CHAT_MAX_CONCURRENT_TURNS_PER_ORG: String(CONCURRENT_SESSIONS * 2),
  ALLOWED_EGRESS_HOSTS: "*,127.0.0.1",
};

async function startTarget(): Promise<Target> {
  if (IN_PROCESS) {
    const stack = await startBenchStack({ worker: true }, STACK_ENV);
    const org = await createTestOrg(stack, "Bench chat");
    return { url: stack.url, db: stack.db, ownerKey: org.ownerKey, pids: {}, close: () => stack.close() };
  }
  const stack = await startProcessStack(STACK_ENV);
  // The same pepper and application role as the children (the dev keys in .sprintconnect/).
  const env = parseEnv(subgraphEnvSchema, { ...process.env, ...stack.env });
  const db = createPrisma({
    DATABASE_URL: resolveAppDatabaseUrl(env),
    DATABASE_POOL_SIZE: 2,
    DATABASE_MAX_OVERFLOW: 0,
  });
  const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const org = await createOrganization(db, resolveKeys(env).apiKeyPepper, {
    name: `Bench chat ${unique}`,
    ownerEmail: `owner-${unique}@example.test`,
  });
  return {
    url: stack.url,
    db,
    ownerKey: org.apiKey,
    pids: { gateway: stack.pids.gateway, chat: stack.pids.chat, worker: stack.pids.worker } as Record<string, number>,
    async close() {
      await db.$disconnect();
      await stack.stop();
    },
  };
}

/** CPU ms each process used while `work` ran (nothing in process: the figure would be the bench's own). */
async function cpuDuring<T>(work: () => Promise<T>): Promise<{ result: T; cpuMs: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(target.pids).map(([name, pid]) => [name, processCpuMs(pid)]));
  const result = await work();
  const cpuMs = Object.fromEntries(
    Object.entries(target.pids).map(([name, pid]) => [name, processCpuMs(pid) - (before[name] as number)]),
  );
  return { result, cpuMs };
}

/** Each received item with the time it arrived. */
type Timed = Collected & { at: number[] };

function watch(client: Client, sessionId: string): Timed {
  const feed = collect(client, EVENTS, { sessionId, after: 0 }) as Timed;
  feed.at = [];
  const push = feed.items.push.bind(feed.items);
  feed.items.push = (...items: unknown[]) => {
    for (const _ of items) feed.at.push(epochMs());
    return push(...items);
  };
  return feed;
}

async function session(): Promise<string> {
  const res = await request(target.url, "POST", "/v1/chat/sessions", {
    auth: target.ownerKey,
    body: { serverIds: [serverId] },
  });
  return res.body.id;
}

/** Messages sent again after SERVICE_UNAVAILABLE (the database too busy), since the last reset. */
let retriedSends = 0;

/**
 * Sends a message as a client should: again after `retryAfter` when the answer is
 * SERVICE_UNAVAILABLE (nothing of the turn was written), a few times at most.
 */
async function send(sessionId: string, content: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const res = await graphql(target.url, target.ownerKey, SEND, { id: sessionId, content });
    if (res.body.data) return res.body.data.sendChatMessage.id;
    const error = res.body.errors?.[0];
    if (error?.extensions?.code !== "SERVICE_UNAVAILABLE" || attempt >= 5) {
      throw new Error(JSON.stringify(res.body.errors));
    }
    retriedSends += 1;
    await sleep(((error.extensions.details?.retryAfter as number | undefined) ?? 1) * 1000);
  }
}

const doneCount = (feed: Timed) => feed.items.filter((e) => e.type === "done").length;

beforeAll(async () => {
  target = await startTarget();
  tools = await startFixture("tools");
  const res = await request(target.url, "POST", "/v1/mcp/servers", {
    auth: target.ownerKey,
    body: { name: "bench-tools", baseUrl: tools.url },
  });
  serverId = res.body.id;
  await waitFor(
    "discovery",
    async () =>
      (await target.db.mcpServer.findUniqueOrThrow({ where: { id: serverId } })).discoveryStatus === "succeeded",
    60_000,
  );
}, 300_000);

afterAll(async () => {
  for (const client of clients) await Promise.resolve(client.dispose()).catch(() => undefined);
  await target?.close();
  await tools?.close();
});

describe("chat", () => {
  it("first token from sendChatMessage to the subscriber, through the whole path (local model)", async () => {
    const sessionId = await session();
    const client = connectWs(target.url, target.ownerKey);
    clients.push(client);
    const feed = watch(client, sessionId);
    // A warm-up turn proves the subscription live and loads every lazy path.
    await send(sessionId, "warm up");
    await waitFor("warm-up", async () => doneCount(feed) === 1, 60_000);
    const latencies: number[] = [];
    // Where the time goes, from what each step stores (ms clocks of one machine): the turn row's
    // createdAt (written in the starting transaction), its startedAt (the worker's claim), the
    // first token's occurredAt (the worker's publish) and the subscriber's arrival.
    const segments = { written: [], claimed: [], published: [], delivered: [], answered: [] } as Record<
      "written" | "claimed" | "published" | "delivered" | "answered",
      number[]
    >;
    const { cpuMs } = await cpuDuring(async () => {
      for (let i = 0; i < FIRST_TOKEN_TURNS; i++) {
        const sent = epochMs();
        const turnId = await send(sessionId, `hello number ${i}`);
        segments.answered.push(epochMs() - sent);
        await waitFor("the turn", async () => doneCount(feed) === i + 2, 30_000, 2);
        const index = feed.items.findIndex((e) => e.turnId === turnId && e.type === "token");
        const arrived = feed.at[index] as number;
        latencies.push(arrived - sent);
        const row = await target.db.chatTurn.findUniqueOrThrow({ where: { id: turnId } });
        const written = row.createdAt.getTime();
        const claimed = (row.startedAt as Date).getTime();
        const published = Date.parse(feed.items[index].occurredAt);
        segments.written.push(written - sent);
        segments.claimed.push(claimed - written);
        segments.published.push(published - claimed);
        segments.delivered.push(arrived - published);
      }
    });
    const s = summarize(latencies);
    printTable(
      "Chat: first token, sendChatMessage (HTTP) → graphql-ws subscriber at the gateway",
      ["turns", "p50 ms", "p95 ms", "p99 ms", "max ms", "goal p95"],
      [[s.count, s.p50, s.p95, s.p99, s.max, "≤ 50 ms"]],
      `${SHAPE} ${conditionsNote()}`,
    );
    const cpuPerTurn = Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, ms / FIRST_TOKEN_TURNS]));
    if (!IN_PROCESS) {
      printTable(
        "Chat: CPU per turn of a one-line answer, by process (send → done, from /proc)",
        Object.keys(cpuPerTurn).map((name) => `${name} ms`),
        [Object.values(cpuPerTurn)],
        `The bench reads each turn's row straight from PostgreSQL (in its own process, not counted); the worker's outbox relay runs meanwhile (counted). ${conditionsNote()}`,
      );
    }
    const parts = Object.fromEntries(Object.entries(segments).map(([k, v]) => [k, summarize(v)]));
    printTable(
      "Chat: where the first token's time goes (per turn, from stored timestamps; ms precision)",
      ["segment", "p50 ms", "p95 ms"],
      [
        [
          "sendChatMessage → turn row written (gateway, auth, session and budget reads, lock)",
          parts.written?.p50,
          parts.written?.p95,
        ],
        [
          "turn row → claimed by the worker (rest of the transaction, commit, enqueue, pick-up, claim)",
          parts.claimed?.p50,
          parts.claimed?.p95,
        ],
        [
          "claimed → first token handed to Redis (reads, tools, graph, model)",
          parts.published?.p50,
          parts.published?.p95,
        ],
        [
          "handed to Redis → subscriber (Lua script, pub/sub, chat subgraph, gateway, graphql-ws)",
          parts.delivered?.p50,
          parts.delivered?.p95,
        ],
        ["sendChatMessage → mutation answered (HTTP; overlaps the rest)", parts.answered?.p50, parts.answered?.p95],
      ],
      `Segments' percentiles do not add up to the total's. ${conditionsNote()}`,
    );
    await writeResults("chat-first-token", { shape: SHAPE, summary: s, segments: parts, cpuPerTurn });
  }, 300_000);

  it("agent overhead per tool call over a direct callTool", async () => {
    const guard = new EgressGuard(parseEgressPolicy(["127.0.0.1"]));
    const connection = await connectMcp(
      { url: tools.url, transport: "streamable_http" },
      { fetch: guard.fetch, timeoutMs: 10_000 },
    );
    const direct: number[] = [];
    for (let i = 0; i < TOOL_TURNS * 2; i++) {
      const t = performance.now();
      await connection.client.callTool({ name: "echo", arguments: { text: "x" } });
      direct.push(performance.now() - t);
    }
    await connection.close();
    // What a turn paid per server before tools came from stored definitions and connections from
    // the worker's pool: initialize and listTools on a fresh connection, then the call.
    const perTurn: number[] = [];
    for (let i = 0; i < TOOL_TURNS; i++) {
      const t = performance.now();
      const fresh = await connectMcp(
        { url: tools.url, transport: "streamable_http" },
        { fetch: guard.fetch, timeoutMs: 10_000 },
      );
      await fresh.client.listTools();
      await fresh.client.callTool({ name: "echo", arguments: { text: "x" } });
      perTurn.push(performance.now() - t);
      await fresh.close();
    }
    await guard.close();

    const sessionId = await session();
    const client = connectWs(target.url, target.ownerKey);
    clients.push(client);
    const feed = watch(client, sessionId);
    await send(sessionId, "warm up");
    await waitFor("warm-up", async () => doneCount(feed) === 1, 60_000);
    const withTool: number[] = [];
    const without: number[] = [];
    const stepped: number[] = [];
    for (let i = 0; i < TOOL_TURNS; i++) {
      for (const [content, into] of [
        ['echo {"text":"x"}', withTool],
        ["no tools here", without],
      ] as const) {
        const t = epochMs();
        await send(sessionId, content);
        const expected = doneCount(feed) + 1;
        await waitFor("the turn", async () => doneCount(feed) === expected, 30_000, 2);
        into.push(epochMs() - t);
      }
    }
    const calls = await target.db.chatToolCall.findMany({ where: { sessionId }, select: { durationMs: true } });
    for (const c of calls) stepped.push(c.durationMs ?? Number.NaN);
    const d = summarize(direct);
    const w = summarize(withTool);
    const n = summarize(without);
    const s = summarize(stepped);
    const f = summarize(perTurn);
    printTable(
      "Chat: a tool call through the agent vs a direct callTool (echo on a local fixture)",
      ["measure", "p50 ms", "p95 ms"],
      [
        ["direct client.callTool (open connection)", d.p50, d.p95],
        ["before: connect + listTools + callTool (fresh connection per turn)", f.p50, f.p95],
        ["agent tool step (ChatToolCall.durationMs: adapter + pooled call)", s.p50, s.p95],
        ["agent step overhead over direct (step − direct)", s.p50 - d.p50, s.p95 - d.p95],
        ["before ÷ agent step (× faster)", f.p50 / s.p50, f.p95 / s.p95],
        ["turn with one tool call (send → done)", w.p50, w.p95],
        ["turn without tools (send → done)", n.p50, n.p95],
        ["overhead per tool call (turn diff − direct)", w.p50 - n.p50 - d.p50, null],
      ],
      `The turn difference includes the second model round (an assistant message and a usage event) that a tool call causes; goal ≤ 5 ms. ${SHAPE} ${conditionsNote()}`,
    );
    await writeResults("chat-tool-overhead", { direct: d, freshPerTurn: f, step: s, withTool: w, without: n });
  }, 300_000);

  it(`${CONCURRENT_SESSIONS} sessions streaming at once`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < CONCURRENT_SESSIONS; i++) ids.push(await session());
    const connections = Array.from({ length: 10 }, () => connectWs(target.url, target.ownerKey));
    clients.push(...connections);
    const feeds = ids.map((id, i) => watch(connections[i % connections.length] as Client, id));
    progress("warming up every session");
    await Promise.all(ids.map((id) => send(id, "warm up")));
    await waitFor("warm-up", async () => feeds.every((f) => doneCount(f) === 1), 120_000);
    const warmUpRetries = retriedSends;
    const text = Array.from({ length: WORDS }, (_, i) => `word${i}`).join(" ");
    retriedSends = 0;
    const started = epochMs();
    const { cpuMs } = await cpuDuring(async () => {
      await Promise.all(ids.map((id) => send(id, text)));
      await waitFor("every session's answer", async () => feeds.every((f) => doneCount(f) === 2), 240_000, 20);
    });
    let tokens = 0;
    let failed = 0;
    let last = started;
    const latencies: number[] = [];
    for (const feed of feeds) {
      // Tokens of the second turn: everything after the warm-up's `done`.
      const warmUpDone = feed.items.findIndex((e) => e.type === "done");
      if (feed.items.some((e, i) => i > warmUpDone && e.type === "done" && e.status !== "completed")) failed += 1;
      feed.items.forEach((e, i) => {
        if (i <= warmUpDone || e.type !== "token") return;
        tokens += 1;
        const at = feed.at[i] as number;
        last = Math.max(last, at);
        latencies.push(at - Date.parse(e.occurredAt));
      });
    }
    const seconds = (last - started) / 1000;
    const s = summarize(latencies);
    printTable(
      `Chat: ${CONCURRENT_SESSIONS} sessions streaming at once (${WORDS}-word answers, local model)`,
      [
        "sessions",
        "tokens",
        "seconds",
        "tokens/s",
        "event p50 ms",
        "event p99 ms",
        "sends retried (warm-up)",
        "turns failed",
      ],
      [
        [
          CONCURRENT_SESSIONS,
          tokens,
          seconds,
          tokens / seconds,
          s.p50,
          s.p99,
          `${retriedSends} (${warmUpRetries})`,
          failed,
        ],
      ],
      `Event latency: from the worker's publish (occurredAt, ms precision) to the subscriber. A send answered SERVICE_UNAVAILABLE (the turn-start transaction found the database too busy) is sent again after its retryAfter, inside the measured seconds; a turn that failed (the worker found the database too busy) has no tokens. ${SHAPE} ${conditionsNote()}`,
    );
    const cpuPerToken = Object.fromEntries(Object.entries(cpuMs).map(([name, ms]) => [name, (ms * 1000) / tokens]));
    if (!IN_PROCESS) {
      printTable(
        "Chat: CPU per streamed token, by process (the 100 answers, from /proc)",
        Object.keys(cpuPerToken).map((name) => `${name} µs`),
        [Object.values(cpuPerToken)],
        `Each token is one Lua script in the worker, one graphql-ws frame from the chat subgraph and one from the gateway; the turns' starts and ends are included. ${conditionsNote()}`,
      );
    }
    await writeResults("chat-concurrent", {
      sessions: CONCURRENT_SESSIONS,
      tokens,
      seconds,
      latency: s,
      retriedSends,
      warmUpRetries,
      failedTurns: failed,
      cpuPerTokenMicros: cpuPerToken,
    });
  }, 600_000);
});
