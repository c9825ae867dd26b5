import { Prisma } from "@prisma/client";
import pg from "pg";

/**
 * SQLSTATEs that say the connection or the server failed, not the statement: class 08
 * (connection exception), 57P01–57P03 (administrator or crash shutdown, cannot connect now)
 * and 53300 (too many connections).
 */
function isUnavailableSqlState(code: unknown): boolean {
  return (
    typeof code === "string" &&
    (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300")
  );
}

/** Driver adapter error kinds of the same meaning. */
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

/** Prisma's codes for an unreachable server, a closed connection, a pool that had none to give. */
const UNAVAILABLE_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2037"]);

function isUnavailableCause(cause: unknown): boolean {
  if (typeof cause !== "object" || cause === null) return false;
  const { kind, code } = cause as { kind?: unknown; code?: unknown };
  return (
    (typeof kind === "string" && UNAVAILABLE_KINDS.has(kind)) || (kind === "postgres" && isUnavailableSqlState(code))
  );
}

/**
 * Whether `err` says that PostgreSQL could not be reached or dropped the connection (a restart,
 * a failover), rather than that the request was wrong: such a request may be retried, and the
 * API answers it with SERVICE_UNAVAILABLE instead of INTERNAL.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseConnectionLost || err instanceof Prisma.PrismaClientInitializationError) return true;
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_PRISMA_CODES.has(err.code)) return true;
    const adapterError = err.meta?.driverAdapterError as { cause?: unknown } | undefined;
    return isUnavailableCause(adapterError?.cause);
  }
  if (err instanceof pg.DatabaseError) return isUnavailableSqlState(err.code); // straight from pg (the read builder)
  return err instanceof Error && err.name === "DriverAdapterError" && isUnavailableCause(err.cause);
}

/**
 * A query failed because its connection had already been lost; pg itself says so only in the
 * text of a code-less error. Raised by the pool of `createPrisma`.
 */
export class DatabaseConnectionLost extends Error {
  constructor(cause: unknown) {
    super("The database connection was lost", { cause });
    this.name = "DatabaseConnectionLost";
  }
}
