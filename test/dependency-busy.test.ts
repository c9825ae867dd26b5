import {
  createLogger,
  createPrisma,
  createRedis,
  ErrorCode,
  isDatabaseUnavailable,
  isRedisUnavailable,
  type PrismaClient,
  readsOf,
} from "@sprintconnect/core";
import { formatSubgraphError } from "@sprintconnect/subgraph-kit";
import { GraphQLError } from "graphql";
import { sql } from "kysely";
import { Client as PgClient } from "pg";
import { TEST_APP_DATABASE_URL, TEST_DATABASE_URL, TEST_LOG_LEVEL } from "./support/env";
import { failure } from "./support/wait";

/** How a subgraph answers a resolver that threw `err`. */
function answered(err: unknown) {
  const format = formatSubgraphError(createLogger("test", TEST_LOG_LEVEL));
  const error = new GraphQLError("x", { originalError: err as Error, path: ["q"] });
  return format({ message: "x", path: ["q"], extensions: { code: "INTERNAL_SERVER_ERROR" } }, error).extensions;
}

const UNAVAILABLE = { code: ErrorCode.SERVICE_UNAVAILABLE, details: { retryAfter: 1 } };

describe("a database too busy to answer", () => {
  let db: PrismaClient;

  beforeAll(() => {
    // One connection, so a test can hold it.
    db = createPrisma({ DATABASE_URL: TEST_APP_DATABASE_URL, DATABASE_POOL_SIZE: 1, DATABASE_MAX_OVERFLOW: 0 });
  });
  afterAll(async () => {
    await db.$disconnect();
  });

  it("fails a transaction, a query and a read that find no free connection in the pool as SERVICE_UNAVAILABLE with retryAfter", async () => {
    let release = () => {};
    let holding = () => {};
    const holds = new Promise<void>((resolve) => {
      holding = resolve;
    });
    const held = db.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        await new Promise<void>((resolve) => {
          release = resolve;
          holding();
        });
      },
      { maxWait: 30_000, timeout: 30_000 },
    );
    await holds;
    try {
      // The pool waits connectionTimeoutMillis for a free connection, then gives up. A
      // transaction's start checks its connection out itself: Prisma's adapter passed pg-pool's
      // code-less "timeout exceeded when trying to connect" on as it was (INTERNAL under load).
      const errors = await Promise.all([
        failure(db.$transaction(async (tx) => tx.$queryRaw`SELECT 1`, { maxWait: 30_000 })),
        failure(db.$queryRaw`SELECT 1`),
        failure(sql`SELECT 1`.execute(readsOf(db))),
      ]);
      for (const err of errors) {
        expect(isDatabaseUnavailable(err)).toBe(true);
        expect(answered(err)).toEqual(UNAVAILABLE);
      }
    } finally {
      release();
      await held;
    }
    // The pool is whole again.
    await expect(db.$queryRaw`SELECT 1 AS one`).resolves.toEqual([{ one: 1 }]);
  }, 30_000);

  it("fails a statement_timeout, a lock_timeout and a transaction past its timeout as SERVICE_UNAVAILABLE, and the next query runs", async () => {
    const owner = new PgClient({ connectionString: TEST_DATABASE_URL });
    await owner.connect();
    const key = Math.floor(Math.random() * 1_000_000_000);
    await owner.query("SELECT pg_advisory_lock($1)", [key]);
    try {
      const errors = [
        await failure(
          db.$transaction(async (tx) => {
            await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 50");
            await tx.$executeRaw`SELECT pg_sleep(5)`;
          }),
        ),
        await failure(
          db.$transaction(async (tx) => {
            await tx.$executeRawUnsafe("SET LOCAL lock_timeout = 50");
            await tx.$executeRaw`SELECT pg_advisory_xact_lock(${key})`;
          }),
        ),
        // Past its timeout, Prisma rolls the transaction back: P2028.
        await failure(
          db.$transaction(
            async (tx) => {
              await tx.$executeRaw`SELECT pg_sleep(0.5)`;
            },
            { timeout: 100 },
          ),
        ),
      ];
      expect((errors[2] as { code?: string }).code).toBe("P2028");
      for (const err of errors) {
        expect(isDatabaseUnavailable(err)).toBe(true);
        expect(answered(err)).toEqual(UNAVAILABLE);
      }
    } finally {
      await owner.query("SELECT pg_advisory_unlock($1)", [key]);
      await owner.end();
    }
    // A statement's own error is not the database's: INTERNAL (a bug), not retried.
    const own = await failure(db.$queryRaw`SELECT 'not-a-uuid'::uuid`);
    expect(isDatabaseUnavailable(own)).toBe(false);
    expect(answered(own)).toEqual({ code: ErrorCode.INTERNAL });
    await expect(db.$queryRaw`SELECT 1 AS one`).resolves.toEqual([{ one: 1 }]);
  }, 30_000);
});

describe("a Redis that cannot be reached", () => {
  it("fails a command, after ioredis's retries, as SERVICE_UNAVAILABLE with retryAfter", async () => {
    // Nothing listens on port 1: ioredis reconnects maxRetriesPerRequest times, then gives up.
    const redis = createRedis("redis://127.0.0.1:1", "test-unreachable");
    redis.on("error", () => undefined);
    try {
      const err = await failure(redis.get("key"));
      expect(isRedisUnavailable(err)).toBe(true);
      expect(answered(err)).toEqual(UNAVAILABLE);
    } finally {
      redis.disconnect();
    }
    // An error of another kind (a DOM abort, a command Redis refused) is not.
    expect(isRedisUnavailable(new DOMException("aborted", "AbortError"))).toBe(false);
  });
});
