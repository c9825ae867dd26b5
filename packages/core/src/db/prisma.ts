import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import pg from "pg";
import { registerReadPool } from "./reads";
import { DatabaseConnectionLost } from "./unavailable";

export type {
  ApiKey,
  AuditAnchor,
  AuditLog,
  ChatMessage,
  ChatSession,
  ChatToolCall,
  ChatTurn,
  Event,
  McpCapability,
  McpCredential,
  McpServer,
  Membership,
  Organization,
  Policy,
  UsageEvent,
  User,
} from "@prisma/client";
export { Prisma, PrismaClient } from "@prisma/client";

export interface DatabaseOptions {
  DATABASE_URL: string;
  DATABASE_POOL_SIZE: number;
  DATABASE_MAX_OVERFLOW: number;
}

/**
 * Watches one pooled connection. A killed connection emits `error` even while no query or
 * pool listener is attached to it (between pg-pool handing it out and its holder listening);
 * unheard, that would end the process. The queries it fails carry no SQLSTATE, so they are
 * raised as {@link DatabaseConnectionLost}, which the API answers with SERVICE_UNAVAILABLE.
 */
function guardConnection(client: pg.PoolClient): void {
  let lost = false;
  client.on("error", () => {
    lost = true;
  });
  const translate = (err: unknown) =>
    lost && (err as { code?: unknown } | null)?.code === undefined ? new DatabaseConnectionLost(err) : err;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const last = args[args.length - 1];
    if (typeof last === "function") {
      const callback = last as (err: unknown, result: unknown) => void;
      return query(...args.slice(0, -1), (err: unknown, result: unknown) => callback(err && translate(err), result));
    }
    return (query(...args) as Promise<unknown>).catch((err: unknown) => {
      throw translate(err);
    });
  };
}

type DriverAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;
type DriverTransaction = Awaited<ReturnType<DriverAdapter["startTransaction"]>>;

/**
 * Gives the pool back a transaction's connection when the statement that ends the transaction
 * fails. Prisma 6.19 sends `COMMIT`/`ROLLBACK` and only after it succeeds releases the
 * connection (`commit()`/`rollback()`); when PostgreSQL has just killed the connection (a
 * restart, a failover, `pg_terminate_backend`) that statement fails and the connection is never
 * released: each one lost shrinks the pool until every query waits for a connection forever.
 * The dead connection is not reused: the pool drops a client that is no longer queryable.
 */
function releaseOnFailedEnd(transaction: DriverTransaction): DriverTransaction {
  let ended = false;
  const end = async (how: () => Promise<void>) => {
    if (ended) return;
    ended = true;
    await how();
  };
  const wrapped: DriverTransaction = Object.create(transaction);
  wrapped.commit = () => end(() => transaction.commit());
  wrapped.rollback = () => end(() => transaction.rollback());
  wrapped.executeRaw = async (query) => {
    try {
      return await transaction.executeRaw(query);
    } catch (err) {
      // Prisma's own closing statements, which it sends as these exact texts.
      if (query.sql === "COMMIT" || query.sql === "ROLLBACK") await end(() => transaction.rollback());
      throw err;
    }
  };
  return wrapped;
}

/**
 * A Prisma client over the pg driver adapter (the TypeScript query compiler; no Rust engine).
 * The pool holds DATABASE_POOL_SIZE connections and grows by up to DATABASE_MAX_OVERFLOW
 * under load; idle overflow connections close after ten seconds. JIT is off for these
 * connections. Connections PostgreSQL kills (a restart) fail the queries they were running
 * and are replaced; none is leaked and no process crashes on their error event. `readsOf(client)`
 * is the read query builder on the same pool.
 */
export function createPrisma(options: DatabaseOptions): PrismaClient {
  const pool = new pg.Pool({
    connectionString: options.DATABASE_URL,
    max: options.DATABASE_POOL_SIZE + options.DATABASE_MAX_OVERFLOW,
    // Our queries are short OLTP queries; PostgreSQL's JIT compiled the ranked search queries
    // for 130 ms to save a few (bench/search.bench.ts), so it is off for our connections.
    options: "-c jit=off",
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
  });
  pool.on("connect", guardConnection);
  // A connection that could not be had fails without a SQLSTATE: the server is down or
  // restarting, or the pool waited `connectionTimeoutMillis` for a free one (every one busy under
  // load). Prisma's adapter passes such an error on as it is (a transaction's start checks out
  // its own connection), so it is named here, once, for every user of the pool: the API answers
  // it with SERVICE_UNAVAILABLE, never INTERNAL.
  const checkOut = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient> | undefined;
  (pool as { connect: unknown }).connect = (...args: unknown[]) => {
    const callback = args[0] as ((err: unknown, ...rest: unknown[]) => void) | undefined;
    if (typeof callback === "function") {
      return checkOut((err: unknown, ...rest: unknown[]) => callback(err ? translateCheckoutError(err) : err, ...rest));
    }
    return (checkOut() as Promise<pg.PoolClient>).catch((err: unknown) => {
      throw translateCheckoutError(err);
    });
  };
  // An idle connection PostgreSQL ends is dropped by the pool, which then emits `error`:
  // unheard, that ends the process. Prisma's adapter listens only once it ran a query, and the
  // read builder (`readsOf`) may use the pool before it does.
  pool.on("error", () => undefined);
  // A query through the pool itself can also meet a connection killed while it was being opened
  // or handed out ("Connection terminated unexpectedly"). Every error PostgreSQL returns for a
  // statement carries a SQLSTATE; one without a code is the connection's, so it is lost, not wrong.
  const poolQuery = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown> | undefined;
  (pool as { query: unknown }).query = (...args: unknown[]) => {
    const result = poolQuery(...args);
    if (typeof args[args.length - 1] === "function" || !result) return result; // the callback form
    return result.catch((err: unknown) => {
      const connectionLevel =
        err instanceof Error &&
        !(err instanceof TypeError) &&
        !(err instanceof DatabaseConnectionLost) &&
        (err as { code?: unknown }).code === undefined;
      throw connectionLevel ? new DatabaseConnectionLost(err) : err;
    });
  };
  const factory = new PrismaPg(pool, { disposeExternalPool: true });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => releaseOnFailedEnd(await startTransaction(isolationLevel));
    return adapter;
  };
  const client = new PrismaClient({ adapter: factory });
  registerReadPool(client, pool);
  return client;
}

/** A Prisma client or an interactive transaction's client. */
export type Db = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends" | "$use">;

/**
 * A connection that could not be opened or handed out fails without a SQLSTATE: it is the
 * connection's failure, not a statement's, so it is {@link DatabaseConnectionLost} like Prisma's
 * `DatabaseNotReachable`. Errors PostgreSQL returned (they carry a SQLSTATE: a refused login,
 * too many connections, "the database system is starting up") keep it and are judged by it.
 */
function translateCheckoutError(err: unknown): unknown {
  if (typeof err !== "object" || err === null || err instanceof DatabaseConnectionLost) return err;
  const { code, name } = err as { code?: unknown; name?: unknown };
  const sqlState = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
  // By name, not instanceof: the socket's errors may come from another realm (jest's sandbox).
  return name === "TypeError" || sqlState ? err : new DatabaseConnectionLost(err);
}
