import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { EVENTS_CHANNEL } from "@sprintconnect/core";
import { createTestOrg, type Stack, type TestOrg } from "../test/support/stack";
import { wsUrl } from "../test/support/ws";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, sleep, startBenchStack } from "./support/stack";
import { epochMs, summarize } from "./support/stats";

/** 100 connections × 10 subscriptions = 1,000 subscribers (the gateway allows 100 per connection). */
const CONNECTIONS = 100;
const PER_CONNECTION = 10;
const SUBSCRIBERS = CONNECTIONS * PER_CONNECTION;
const EVENTS = 50;
/** Far enough apart that one event's fan-out (about 0.1 ms of CPU per delivery) ends before the next. */
const SPACING_MS = 250;
/** After the last event, how long stragglers may take. */
const DRAIN_MS = 15_000;

const SUBSCRIPTION = `subscription($filter: CapabilityChangeFilter) {
  capabilityChanges(filter: $filter) { eventId serverId name kind changeType occurredAt }
}`;
/** Every filter matches every event published here, so each subscriber should get each event once. */
const FILTERS = [{}, { kind: "tool" }, { environment: "production" }, { tag: "bench" }];

let stack: Stack;
let org: TestOrg;
let child: ChildProcess | undefined;

beforeAll(async () => {
  stack = await startBenchStack();
  org = await createTestOrg(stack, "Bench events");
});
afterAll(async () => {
  if (child?.connected) {
    child.send({ type: "stop" });
    await new Promise((resolve) => child?.once("exit", resolve));
  }
  await stack?.close();
});

/** Sends a message to the subscriber process and waits for its answer of type `answer`. */
function ask<T>(message: { type: string } & Record<string, unknown>, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`subscriber process exited with ${code}`));
    const onMessage = (m: { type: string }) => {
      if (m.type !== answer) return;
      child?.off("message", onMessage);
      child?.off("exit", onExit);
      resolve(m as T);
    };
    child?.on("message", onMessage);
    child?.once("exit", onExit);
    child?.send(message);
  });
}

interface Status {
  live: number;
  received: number;
  errors: number;
  firstError?: string;
  closed: number;
}

const serverId = randomUUID();

/** A capability change in the envelope the outbox relay publishes. */
function event(name: string) {
  const id = randomUUID();
  return {
    id,
    organizationId: org.organizationId,
    type: "capability.changed",
    aggregateId: id,
    payload: {
      serverId,
      serverName: "bench-events",
      environment: "production",
      tags: ["bench"],
      capabilityId: id,
      name,
      kind: "tool",
      changeType: "CHANGED",
      definitionHash: "b".repeat(64),
      previousHash: "a".repeat(64),
      reviewRequired: true,
    },
    createdAt: new Date().toISOString(),
  };
}

describe("event fan-out", () => {
  it("prints the latency from a Redis publish to each of 1,000 subscribers through the gateway", async () => {
    child = fork(join(__dirname, "support/subscribers.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const connectStarted = performance.now();
    await ask(
      {
        type: "start",
        url: wsUrl(stack.url),
        auth: org.ownerKey,
        connections: CONNECTIONS,
        perConnection: PER_CONNECTION,
        query: SUBSCRIPTION,
        filters: FILTERS,
      },
      "started",
    );

    // Pub/sub keeps nothing and graphql-ws acknowledges no subscription: publish probes until
    // every subscriber has seen one; from then on, nothing is missed.
    const liveDeadline = Date.now() + 60_000;
    let status = await ask<Status>({ type: "status" }, "status");
    while (status.live < SUBSCRIBERS) {
      if (Date.now() > liveDeadline || status.closed > 0) {
        throw new Error(`only ${status.live}/${SUBSCRIBERS} subscriptions live: ${JSON.stringify(status)}`);
      }
      await stack.redis.publish(EVENTS_CHANNEL, JSON.stringify(event("probe")));
      await sleep(250);
      status = await ask<Status>({ type: "status" }, "status");
    }
    const liveMs = performance.now() - connectStarted;
    progress(`${SUBSCRIBERS} subscriptions live over ${CONNECTIONS} connections after ${(liveMs / 1000).toFixed(1)} s`);
    await sleep(1_000); // let the last probes drain

    for (let seq = 0; seq < EVENTS; seq++) {
      await stack.redis.publish(EVENTS_CHANNEL, JSON.stringify(event(`bench:${seq}:${epochMs()}`)));
      await sleep(SPACING_MS);
    }
    const expected = EVENTS * SUBSCRIBERS;
    const drainDeadline = Date.now() + DRAIN_MS;
    status = await ask<Status>({ type: "status" }, "status");
    while (status.received < expected && Date.now() < drainDeadline) {
      await sleep(100);
      status = await ask<Status>({ type: "status" }, "status");
    }

    const report = await ask<{
      deliveries: Record<string, number[]>;
      errors: number;
      firstError?: string;
      closed: number;
    }>({ type: "report" }, "report");
    const all = Object.values(report.deliveries).flat();
    const latency = summarize(all);
    // Per event: when its first and its last subscriber had it (the fan-out's spread).
    const firsts = summarize(Object.values(report.deliveries).map((l) => Math.min(...l)));
    const lasts = summarize(Object.values(report.deliveries).map((l) => Math.max(...l)));
    const complete = Object.values(report.deliveries).filter((l) => l.length === SUBSCRIBERS).length;

    printTable(
      `event latency, Redis publish → graphql-ws client through the gateway: ${SUBSCRIBERS} subscribers ` +
        `(${CONNECTIONS} connections × ${PER_CONNECTION}), ${EVENTS} events ${SPACING_MS} ms apart`,
      ["measure", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"],
      [
        ["every delivery", latency.count, latency.p50, latency.p95, latency.p99, latency.max],
        ["first subscriber of each event", firsts.count, firsts.p50, firsts.p95, firsts.p99, firsts.max],
        ["last subscriber of each event", lasts.count, lasts.p50, lasts.p95, lasts.p99, lasts.max],
      ],
      `deliveries ${all.length.toLocaleString("en-US")} / expected ${expected.toLocaleString("en-US")}; ` +
        `events delivered to all ${SUBSCRIBERS}: ${complete}/${EVENTS}; subscriber errors ${report.errors}, closed ${report.closed}.\n` +
        "Subscribers run in a child process; the gateway, the registry subgraph (which reads Redis) and the publisher share\n" +
        "this process. Clocks: performance.timeOrigin + now() in both processes.\n" +
        conditionsNote(),
    );
    const file = await writeResults("events", {
      connections: CONNECTIONS,
      perConnection: PER_CONNECTION,
      subscribers: SUBSCRIBERS,
      events: EVENTS,
      spacingMs: SPACING_MS,
      liveAfterMs: liveMs,
      expected,
      delivered: all.length,
      eventsCompletelyDelivered: complete,
      errors: report.errors,
      firstError: report.firstError ?? null,
      latency,
      firstDelivery: firsts,
      lastDelivery: lasts,
    });
    progress(`written ${file}`);
    expect(report.errors).toBe(0);
  });
});
