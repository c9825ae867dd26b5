import { Prisma } from "@prisma/client";
import pg from "pg";

/**
 * SQLSTATEs that say the connection or the server failed, not the statement: class 08
 * (connection exception), 57P01–57P03 (administrator or crash shutdown, cannot connect now),
 * 57P05 and 25P03 (the server ended an idle session or transaction) and 53300 (too many
 * connections).
 */
function isLostSqlState(code: string): boolean {
  return (
    code.startsWith("08") ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03" ||
    code === "57P05" ||
    code === "25P03" ||
    code === "53300"
  );
}

/**
 * SQLSTATEs that say the server was too busy for the statement, which may succeed if sent again:
 * class 53 (insufficient resources: memory, disk, connections), 57014 (cancelled: a
 * `statement_timeout`), 55P03 (a `lock_timeout`), 40001 and 40P01 (a serialization failure, a
 * deadlock: PostgreSQL rolled the transaction back for the other one's sake).
 */
function isBusySqlState(code: string): boolean {
  return code.startsWith("53") || code === "57014" || code === "55P03" || code === "40001" || code === "40P01";
}

/** Driver adapter error kinds of a lost or unreachable connection. */
const LOST_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

/** Prisma's codes for an unreachable server, a closed connection, a pool that had none to give. */
const LOST_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2037"]);

/**
 * Prisma's codes of a database too busy for the request: P2028, an interactive transaction that
 * could not start within its `maxWait` or ran past its `timeout` (Prisma's transaction manager
 * gives every such failure this one code); P2034, a write conflict or a deadlock.
 */
const BUSY_PRISMA_CODES = new Set(["P2028", "P2034"]);

type Judge = (code: string) => boolean;

function causeMatches(cause: unknown, kinds: ReadonlySet<string>, sqlState: Judge): boolean {
  if (typeof cause !== "object" || cause === null) return false;
  const { kind, code } = cause as { kind?: unknown; code?: unknown };
  return (
    (typeof kind === "string" && kinds.has(kind)) || (kind === "postgres" && typeof code === "string" && sqlState(code))
  );
}

function matches(err: unknown, codes: ReadonlySet<string>, kinds: ReadonlySet<string>, sqlState: Judge): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (codes.has(err.code)) return true;
    const adapterError = err.meta?.driverAdapterError as { cause?: unknown } | undefined;
    return causeMatches(adapterError?.cause, kinds, sqlState);
  }
  // Straight from pg (the read builder, a pool query).
  if (err instanceof pg.DatabaseError) return typeof err.code === "string" && sqlState(err.code);
  return err instanceof Error && err.name === "DriverAdapterError" && causeMatches(err.cause, kinds, sqlState);
}

/**
 * Whether `err` says that the connection to PostgreSQL is gone or could not be had (a restart, a
 * failover, an unreachable server, a pool with none free): a connection that failed so is not
 * used again.
 */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof DatabaseConnectionLost || err instanceof Prisma.PrismaClientInitializationError) return true;
  return matches(err, LOST_PRISMA_CODES, LOST_KINDS, isLostSqlState);
}

const BUSY_KINDS = new Set(["TransactionWriteConflict"]);

/**
 * Whether `err` says that PostgreSQL could not serve the request now, rather than that the
 * request was wrong: the connection failed ({@link isConnectionFailure}) or the server was
 * overloaded (a pool, statement, lock or transaction timeout, a deadlock, resources exhausted).
 * Such a request may be sent again: the API answers it with SERVICE_UNAVAILABLE and a
 * `retryAfter`, never INTERNAL.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return isConnectionFailure(err) || matches(err, BUSY_PRISMA_CODES, BUSY_KINDS, isBusySqlState);
}

/** Seconds a caller is told to wait (`retryAfter`) before sending again a request the database (or Redis) could not serve. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/**
 * A query failed because its connection had already been lost, or no connection could be had
 * (the pool could not open one, or none was free within its wait); pg itself says so only in
 * the text of a code-less error. Raised by the pool of `createPrisma`.
 */
export class DatabaseConnectionLost extends Error {
  constructor(cause: unknown) {
    super("The database connection was lost or could not be had", { cause });
    this.name = "DatabaseConnectionLost";
  }
}
