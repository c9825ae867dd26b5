import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";

export type {
  ApiKey,
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
 * A Prisma client over the pg driver adapter (the TypeScript query compiler; no Rust engine).
 * The pool holds DATABASE_POOL_SIZE connections and grows by up to DATABASE_MAX_OVERFLOW
 * under load; idle overflow connections close after ten seconds. JIT is off for these
 * connections.
 */
export function createPrisma(options: DatabaseOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: options.DATABASE_URL,
    max: options.DATABASE_POOL_SIZE + options.DATABASE_MAX_OVERFLOW,
    // Our queries are short OLTP queries; PostgreSQL's JIT compiled the ranked search queries
    // for 130 ms to save a few (bench/search.bench.ts), so it is off for our connections.
    options: "-c jit=off",
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
  });
  return new PrismaClient({ adapter });
}

/** A Prisma client or an interactive transaction's client. */
export type Db = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends" | "$use">;
