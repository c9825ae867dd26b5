import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { Client } from "pg";
import type { Logger } from "../logger";
import { MIGRATION_LOCK_KEY } from "./migrate";

/**
 * Tables the application may only read and append to. Their triggers refuse UPDATE, DELETE and
 * TRUNCATE too, but only the table owner could switch a trigger off, and the application role
 * is not the owner.
 */
export const APPEND_ONLY_TABLES = ["AuditLog", "AuditAnchor"] as const;

/**
 * Creates the application role named in `appDatabaseUrl` if it is missing, sets its password
 * from that URL, and grants it exactly what the application needs in the database of
 * `ownerDatabaseUrl` (connected as the owner): CONNECT, USAGE on the schema, SELECT, INSERT,
 * UPDATE and DELETE on every table but the append-only ones (SELECT and INSERT) and the
 * migration history (nothing), and USAGE on sequences. Run after every migration, so tables a
 * migration creates are granted too. Roles belong to the whole cluster: the role is created
 * idempotently (another database's migration may create it at the same moment) and never
 * dropped; grants are per database.
 */
export async function grantAppRole(
  ownerDatabaseUrl: string,
  appDatabaseUrl: string,
  logger?: Pick<Logger, "info">,
): Promise<{ role: string; created: boolean }> {
  const app = new URL(appDatabaseUrl);
  const role = decodeURIComponent(app.username);
  const password = decodeURIComponent(app.password);
  if (!role) throw new Error("APP_DATABASE_URL names no user: the application role is needed");
  const client = new Client({ connectionString: ownerDatabaseUrl });
  await client.connect();
  const id = client.escapeIdentifier(role);
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    const owner = (await client.query<{ owner: string }>("SELECT current_user AS owner")).rows[0]?.owner;
    if (owner === role) {
      throw new Error(`APP_DATABASE_URL must name a role other than the one that runs migrations (${role})`);
    }
    const created = await createRoleIfMissing(client, role);
    const { rows } = await client.query<{ rolsuper: boolean; rolbypassrls: boolean; member: boolean }>(
      `SELECT rolsuper, rolbypassrls, pg_has_role($1, current_user, 'MEMBER') AS member FROM pg_roles WHERE rolname = $1`,
      [role],
    );
    const found = rows[0];
    // A superuser or a member of the owner could switch the audit triggers off: refuse rather than
    // quietly strip rights from a role someone else may depend on.
    if (!found || found.rolsuper || found.rolbypassrls || found.member) {
      throw new Error(
        `the application role ${role} must be an ordinary role: not a superuser, not a member of ${owner}`,
      );
    }
    await alterRoleRetrying(
      client,
      `ALTER ROLE ${id} WITH LOGIN NOCREATEDB NOCREATEROLE NOREPLICATION${
        password ? ` PASSWORD ${client.escapeLiteral(scramVerifier(password))}` : ""
      }`,
    );
    const database = (await client.query<{ db: string }>("SELECT current_database() AS db")).rows[0]?.db ?? "";
    const appendOnly = (
      await client.query<{ name: string }>(
        "SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(format('public.%I', name)) IS NOT NULL",
        [[...APPEND_ONLY_TABLES]],
      )
    ).rows.map((r) => client.escapeIdentifier(r.name));
    // One transaction: running processes never see the role without its grants.
    await client.query("BEGIN");
    try {
      await client.query(`GRANT CONNECT ON DATABASE ${client.escapeIdentifier(database)} TO ${id}`);
      await client.query(`GRANT USAGE ON SCHEMA public TO ${id}`);
      await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${id}`);
      await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${id}`);
      if (appendOnly.length > 0) await client.query(`REVOKE UPDATE, DELETE ON ${appendOnly.join(", ")} FROM ${id}`);
      await client.query(`REVOKE ALL ON TABLE "_prisma_migrations" FROM ${id}`);
      await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${id}`);
      await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${id}`);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK");
      throw err;
    }
    logger?.info({ role, database, created }, "application role granted");
    return { role, created };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** CREATE ROLE, tolerating a concurrent creator (the advisory lock is per database; roles are not). */
async function createRoleIfMissing(client: Client, role: string): Promise<boolean> {
  const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  if (exists.rowCount) return false;
  try {
    await client.query(`CREATE ROLE ${client.escapeIdentifier(role)} LOGIN`);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    // duplicate_object, or the catalog's unique index when two creators race.
    if (code === "42710" || code === "23505") return false;
    throw err;
  }
}

/**
 * A SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's stored format) of `password`, so the
 * password itself never appears in a statement the server might log.
 */
export function scramVerifier(password: string, iterations = 4096, salt = randomBytes(16)): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/**
 * Runs an ALTER ROLE, again when another session changed the same role at the same moment.
 * Roles are cluster-wide while the migration lock is per database, so two databases migrating
 * at once may alter one role together; PostgreSQL then fails one with "tuple concurrently
 * updated", which has no SQLSTATE of its own (XX000, internal error): the message is all there is.
 */
async function alterRoleRetrying(client: Client, sql: string, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(sql);
      return;
    } catch (err) {
      const concurrent =
        (err as { code?: unknown }).code === "XX000" && /tuple concurrently updated/.test((err as Error).message);
      if (!concurrent || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.floor(Math.random() * 20)));
    }
  }
}
