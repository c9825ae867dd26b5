import { Kysely, PostgresDialect } from "kysely";
import type pg from "pg";
import type { DB } from "./generated/kysely-types";
import { isConnectionFailure } from "./unavailable";

export { jsonArrayFrom } from "kysely/helpers/postgres";
export type { DB as ReadTables } from "./generated/kysely-types";

/**
 * The query builder of the API's hot reads (docs/ARCHITECTURE.md, Data): Kysely, typed from
 * `schema.prisma` by the `prisma-kysely` generator, on the pg pool that `createPrisma` owns.
 * Prisma compiles every query on the CPU (1–2 ms for a 20-row list in 6.19); Kysely builds the
 * SQL text in microseconds and pg does the rest. Writes, transactions and everything that is
 * not a read model stay on Prisma.
 */
export type ReadDb = Kysely<DB>;

const pools = new WeakMap<object, pg.Pool>();
const readers = new WeakMap<object, ReadDb>();

/** Called by `createPrisma`: the pool its client runs on, for {@link readsOf}. */
export function registerReadPool(client: object, pool: pg.Pool): void {
  pools.set(client, pool);
}

/**
 * The read query builder on the same pool (and so the same connection limit, the same guard
 * against killed connections) as `client`, which must come from `createPrisma`. One per client;
 * it is closed with the client (`$disconnect` ends the pool), never on its own.
 */
export function readsOf(client: object): ReadDb {
  let reader = readers.get(client);
  if (reader) return reader;
  reader = new Kysely<DB>({
    dialect: new PostgresDialect({
      // Looked up at the first query, so a schema can be built (and printed) without a database.
      pool: async () => {
        const pool = pools.get(client);
        if (!pool) throw new Error("readsOf needs a client made by createPrisma (it owns the pool the reads share)");
        return {
          connect: () => checkOut(pool),
          // The pool belongs to the Prisma client: Kysely's destroy() must not end it.
          end: async () => undefined,
        } as unknown as pg.Pool;
      },
    }),
  });
  readers.set(client, reader);
  return reader;
}

/**
 * A pooled connection for one Kysely query. One whose query failed because the connection is
 * gone (PostgreSQL ended it: a restart, `pg_terminate_backend`) goes back to the pool to be
 * destroyed, not to wait idle for the next read, which would fail on it too: Kysely releases
 * without saying why, and pg may hear the socket close only after the release.
 */
async function checkOut(pool: pg.Pool): Promise<Pick<pg.PoolClient, "query" | "release">> {
  // A connection that could not be had is already DatabaseConnectionLost (createPrisma's pool).
  const client = await pool.connect();
  let broken = false;
  return {
    query: ((text: string, values?: unknown[]) =>
      client.query(statement(text, values)).catch((err: unknown) => {
        if (isConnectionFailure(err)) broken = true;
        throw err;
      })) as pg.PoolClient["query"],
    release: (destroy?: boolean | Error) => client.release(destroy || broken),
  };
}

/**
 * Most distinct statements named per process (each connection prepares each name it runs once,
 * and PostgreSQL keeps it for the session); statements past it run unnamed.
 */
const MAX_NAMED_STATEMENTS = 500;
const statementNames = new Map<string, string>();

/**
 * The read as a named prepared statement: PostgreSQL parses and plans an unnamed statement on
 * every execution; a named one once per connection (it may then keep a generic plan, which for
 * these reads — one organization's rows by index, a page at a time — is the plan it would make
 * anyway). The read models build a bounded set of texts (the selected columns, the filters
 * present, the policies' shape), so a name per text; the cap keeps an unexpected variety from
 * growing every connection's statements without end.
 */
function statement(text: string, values: unknown[] | undefined): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `sc_read_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name === undefined ? { text, values: values ?? [] } : { name, text, values: values ?? [] };
}
