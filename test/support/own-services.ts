import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { Client } from "pg";
import { grantAppRole } from "../../packages/core/src/db/app-role";
import { migrate } from "../../packages/core/src/db/migrate";
import { appDatabaseUrl, TEST_DATABASE_URL } from "./env";
import { waitFor } from "./wait";

/**
 * Runs `fn` on a connection of the database's owner (TEST_DATABASE_URL by default): for what
 * the application role may not do, such as simulating an operator's tampering or a failure.
 */
export async function asDatabaseOwner<T>(
  fn: (c: Client) => Promise<T>,
  connectionString = TEST_DATABASE_URL,
): Promise<T> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs `fn` while every audit entry of `organizationId` fails to insert (a trigger, created and
 * dropped as the database's owner): the transaction of any change in that organization rolls
 * back at its audit entry, after everything else it wrote.
 */
export async function withFailingAudit<T>(organizationId: string, fn: () => Promise<T>): Promise<T> {
  const name = `fail_audit_${organizationId.replaceAll("-", "_")}`;
  await asDatabaseOwner(async (owner) => {
    await owner.query(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         IF NEW."organizationId" = '${organizationId}' THEN RAISE EXCEPTION 'forced rollback'; END IF;
         RETURN NEW; END $$`,
    );
    await owner.query(`CREATE TRIGGER ${name} BEFORE INSERT ON "AuditLog" FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  });
  try {
    return await fn();
  } finally {
    await asDatabaseOwner(async (owner) => {
      await owner.query(`DROP TRIGGER ${name} ON "AuditLog"`);
      await owner.query(`DROP FUNCTION ${name}()`);
    });
  }
}

/**
 * A new, migrated database beside the test database (`<test database>_<suffix>`), dropped
 * first if a previous run left it. For tests that disturb a whole deployment (kill its
 * connections, run its scheduler over every server) without touching other test files' rows.
 */
export async function freshDatabase(suffix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const url = new URL(TEST_DATABASE_URL);
  const name = `${decodeURIComponent(url.pathname.slice(1))}_${suffix}`;
  url.pathname = `/${name}`;
  const admin = new URL(TEST_DATABASE_URL);
  admin.pathname = "/postgres";
  const run = async (sql: string) => {
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const quoted = `"${name.replace(/"/g, '""')}"`;
  await run(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
  await run(`CREATE DATABASE ${quoted}`);
  await migrate(url.toString());
  await grantAppRole(url.toString(), appDatabaseUrl(url.toString()));
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** A redis-server of the test's own, without persistence: a restart loses everything. */
export interface OwnRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>/<db>` */
  url(db?: number): string;
  /** `SHUTDOWN NOSAVE`, then a new, empty server on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const launch = async () => {
    const started = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    child = started;
    let output = "";
    started.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor("redis-server to accept connections", async () => {
      if (started.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      return output.includes("Ready to accept connections");
    });
  };
  const shutdown = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, "exit");
    const client = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 0, retryStrategy: () => null });
    // The server closes the connection instead of answering.
    await client.call("SHUTDOWN", "NOSAVE").catch(() => undefined);
    client.disconnect();
    await exited;
  };
  await launch();
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    async restart() {
      await shutdown();
      await launch();
    },
    stop: shutdown,
  };
}
