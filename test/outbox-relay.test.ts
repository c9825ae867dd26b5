import { randomUUID } from "node:crypto";
import {
  createLogger,
  createPrisma,
  createRedis,
  EVENTS_CHANNEL,
  emitEvents,
  type PrismaClient,
  redisChannel,
} from "@sprintconnect/core";
import { OutboxRelay } from "@sprintconnect/worker";
import type { Redis } from "ioredis";
import { appDatabaseUrl, TEST_REDIS_URL } from "./support/env";
import { asDatabaseOwner, freshDatabase } from "./support/own-services";
import { waitFor } from "./support/wait";

/** Ten minutes: in these tests the relay's fallback sweep never runs, so only a commit can wake it. */
const NO_POLLING = 600_000;

let database: { url: string; drop(): Promise<void> };
let db: PrismaClient;
let redis: Redis;
let subscriber: Redis;
const published = new Map<string, number>();
const relays: OutboxRelay[] = [];
const logger = createLogger("test", "silent");
const organizationId = randomUUID();

beforeAll(async () => {
  // Its own database: the suite's other relays must not publish these events first.
  database = await freshDatabase("relay");
  db = createPrisma({ DATABASE_URL: appDatabaseUrl(database.url), DATABASE_POOL_SIZE: 3, DATABASE_MAX_OVERFLOW: 2 });
  redis = createRedis(TEST_REDIS_URL, "test");
  subscriber = createRedis(TEST_REDIS_URL, "test-events");
  subscriber.on("message", (_channel: string, message: string) => {
    const { id } = JSON.parse(message) as { id: string };
    published.set(id, (published.get(id) ?? 0) + 1);
  });
  await subscriber.subscribe(redisChannel(subscriber, EVENTS_CHANNEL));
});
afterAll(async () => {
  for (const relay of relays) await relay.stop();
  await subscriber?.quit();
  await redis?.quit();
  await db?.$disconnect();
  await database?.drop();
});

function relay(): OutboxRelay {
  const created = new OutboxRelay(db, redis, logger, {
    pollIntervalMs: NO_POLLING,
    listenUrl: appDatabaseUrl(database.url),
  });
  relays.push(created);
  return created;
}

/** Commits `count` capability events in one transaction, as a discovery does; their ids. */
async function commitEvents(count: number): Promise<string[]> {
  const batch = randomUUID();
  await db.$transaction((tx) =>
    emitEvents(
      tx,
      Array.from({ length: count }, () => ({
        organizationId,
        type: "capability.changed" as const,
        payload: { name: "relay-test", batch },
      })),
    ),
  );
  const rows = await db.event.findMany({
    where: { payload: { path: ["batch"], equals: batch } },
    select: { id: true },
  });
  expect(rows).toHaveLength(count);
  return rows.map((r) => r.id);
}

const allPublished = (ids: string[]) => () => Promise.resolve(ids.every((id) => published.has(id)));

describe("outbox relay", () => {
  it("publishes events as soon as their transaction commits, without polling", async () => {
    const running = relay();
    running.start();
    await waitFor("the relay to listen", () => Promise.resolve(running.listening));
    const batches = jest.spyOn(running, "publishBatch");
    await new Promise((resolve) => setTimeout(resolve, 200)); // the start-up sweep is over
    const before = batches.mock.calls.length;

    try {
      const ids = await commitEvents(3);
      await waitFor("the events on Redis", allPublished(ids), 10_000);
      expect(batches.mock.calls.length).toBeGreaterThan(before);
      // The relay publishes, then commits `publishedAt` in the same transaction: Redis may hear
      // the events a moment before the rows say so.
      await waitFor("the events marked published", async () => {
        const rows = await db.event.findMany({ where: { id: { in: ids } }, select: { publishedAt: true } });
        return rows.every((r) => r.publishedAt !== null);
      });
    } finally {
      // Stopped even when an expectation fails: a relay left running would publish the next test's events.
      await running.stop();
    }
  });

  it("publishes the events committed while it was down when it starts", async () => {
    const ids = await commitEvents(5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ids.some((id) => published.has(id))).toBe(false);

    const running = relay();
    running.start();
    await waitFor("the events on Redis", allPublished(ids), 10_000);
    await running.stop();
  });

  it("listens again after its connection is killed, and publishes what committed meanwhile", async () => {
    const running = relay();
    running.start();
    await waitFor("the relay to listen", () => Promise.resolve(running.listening));
    const killed = await asDatabaseOwner(async (c) => {
      const result = await c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'sprintconnect-outbox-relay' AND datname = current_database()`,
      );
      return result.rowCount;
    }, database.url);
    expect(killed).toBeGreaterThan(0);
    const missed = await commitEvents(2);
    await waitFor("the events committed while it was not listening", allPublished(missed), 10_000);
    await waitFor("the relay to listen again", () => Promise.resolve(running.listening));
    const later = await commitEvents(2);
    await waitFor("the events committed after", allPublished(later), 10_000);
    await running.stop();
  });

  it("shares the work between relays: every event of many commits is published", async () => {
    const first = relay();
    const second = relay();
    first.start();
    second.start();
    await waitFor("both relays to listen", () => Promise.resolve(first.listening && second.listening));
    const ids = (await Promise.all(Array.from({ length: 20 }, () => commitEvents(1)))).flat();
    await waitFor("every event on Redis", allPublished(ids), 10_000);
    await waitFor(
      "every event marked published",
      async () => (await db.event.count({ where: { publishedAt: null } })) === 0,
    );
  });
});
